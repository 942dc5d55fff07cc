/**
 * `npm run local-org -- [--port N] [--data DIR] [--users N] [--seed N] [--reset]`: serve the local org
 * until SIGINT/SIGTERM.
 */
import { Command } from 'commander';
import { startLocalOrg } from './index';

async function main(): Promise<void> {
    const program = new Command()
        .name('local-org')
        .description('A Salesforce REST API emulator with a seeded demo org')
        .option('--port <n>', 'port (0 = any free port)', '8642')
        .option('--data <dir>', 'data folder', '.data/local-org')
        .option('--users <n>', 'demo org size (users)')
        .option('--seed <n>', 'demo data seed')
        .option('--reset', 'wipe the data folder and reseed', false)
        .parse();
    const o = program.opts<{ port: string; data: string; users?: string; seed?: string; reset: boolean }>();
    const org = await startLocalOrg({
        port: Number(o.port),
        dataDir: o.data,
        users: o.users === undefined ? undefined : Number(o.users),
        seed: o.seed === undefined ? undefined : Number(o.seed),
        reset: o.reset,
        clientId: process.env.LOCAL_ORG_CLIENT_ID || undefined,
        clientSecret: process.env.LOCAL_ORG_CLIENT_SECRET || undefined,
        log: (line) => console.error(line)
    });
    console.log(`Local org: ${org.url}`);
    console.log(`Client id: ${org.clientId}`);
    console.log(`Client secret: ${org.clientSecret}`);
    console.log(`JWT consumer key: ${org.jwt.consumerKey} (integration user ${org.jwt.username})`);
    const stop = (): void => {
        void org.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
