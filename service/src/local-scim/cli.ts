/**
 * `npm run local-scim -- [--port N] [--data DIR] [--token T] [--reset]`: serve the local SCIM app until
 * SIGINT/SIGTERM.
 */
import { Command } from 'commander';
import { LOCAL_SCIM_DEV_TOKEN as DEV_TOKEN, startLocalScimApp } from './index';

async function main(): Promise<void> {
    const program = new Command()
        .name('local-scim')
        .description('A SCIM 2.0 server (RFC 7643/7644) on localhost, persisted, with fault switches')
        .option('--port <n>', 'port (0 = any free port)', '8643')
        .option('--data <dir>', 'data folder', '.data/local-scim')
        .option('--reset', 'wipe the data folder and reseed', false)
        .parse();
    const o = program.opts<{ port: string; data: string; reset: boolean }>();
    const app = await startLocalScimApp({
        port: Number(o.port),
        dataDir: o.data,
        reset: o.reset,
        token: process.env.LOCAL_SCIM_TOKEN || DEV_TOKEN,
        log: (line) => console.error(line)
    });
    console.log(`Local SCIM app: ${app.url}`);
    console.log(`Admin (fault switches): ${app.adminUrl}/faults`);
    console.log(
        process.env.LOCAL_SCIM_TOKEN
            ? 'Bearer token: the one in LOCAL_SCIM_TOKEN'
            : `Bearer token: ${DEV_TOKEN} (the dev token; set LOCAL_SCIM_TOKEN to choose another)`
    );
    const stop = (): void => {
        void app.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
