/**
 * `npm run bench -- read-paths`: reading N candidate users over the REST API (query + queryMore, 2,000
 * a page) against a Bulk API 2.0 query job (after the first REST page: create, status checks, result
 * sets of 50,000, delete), for N from 2,000 to 100,000, on the local org (in a child process, so its CPU
 * is not the reader's). Prints API calls and seconds per path: the measurements behind
 * BULK_QUERY_ABOVE (docs/decisions.md). Last stdout line:
 * {"bench":"read-paths","rows":[{"candidates":…,"restCalls":…,"restSeconds":…,"bulkCalls":…,"bulkSeconds":…},…]}
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SalesforceGateway } from '../service/src/adapters/salesforce';
import { buildSchema, type SObjectDescribe } from '../service/src/engine';
import { createLogger } from '../service/src/logger';
import { startLocalOrg } from '../service/src/local-org';
import { forEachCandidatePage } from '../service/src/use-cases/candidates';

const SIZES = [2_000, 5_000, 10_000, 20_000, 50_000, 100_000];
const USERS = 120_000;

interface OrgInfo {
    url: string;
    consumerKey: string;
    username: string;
    privateKeyPem: string;
}

async function orgPeer(): Promise<void> {
    const org = await startLocalOrg({ users: USERS, seed: 5 });
    const info: OrgInfo = {
        url: org.url,
        consumerKey: org.jwt.consumerKey,
        username: org.jwt.username,
        privateKeyPem: org.jwt.privateKeyPem
    };
    process.stdout.write(`${JSON.stringify(info)}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => void org.stop().then(() => process.exit(0)));
}

async function main(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--peer'], {
        stdio: ['pipe', 'pipe', 'inherit']
    });
    const info = await new Promise<OrgInfo>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', (line) =>
            resolve(JSON.parse(line) as OrgInfo)
        );
        child.once('exit', (code) => reject(new Error(`org process exited with ${code}`)));
    });
    const gateway = new SalesforceGateway({
        config: {
            loginUrl: info.url,
            clientId: info.consumerKey,
            username: info.username,
            privateKeyPem: info.privateKeyPem,
            apiVersion: '62.0',
            retryAttempts: 2,
            retryBaseMs: 50
        },
        logger: createLogger('silent')
    });
    const schema = buildSchema((await gateway.describe('User')) as SObjectDescribe);
    const rows: Array<Record<string, number>> = [];
    for (const candidates of SIZES) {
        const soql = `SELECT Id, Name, Email, IsActive, CreatedDate, Department, Profile.Name FROM User LIMIT ${candidates}`;
        const measure = async (bulkAbove: number) => {
            const calls = gateway.apiCalls();
            const started = process.hrtime.bigint();
            const stats = await forEachCandidatePage(gateway, [soql], schema, () => undefined, { bulkAbove });
            if (stats.candidates !== candidates) throw new Error(`read ${stats.candidates} of ${candidates}`);
            return {
                calls: gateway.apiCalls() - calls,
                seconds: Number(process.hrtime.bigint() - started) / 1e9
            };
        };
        const rest = await measure(Infinity);
        const bulk = await measure(0);
        console.log(
            `${candidates} candidates: REST ${rest.calls} calls, ${rest.seconds.toFixed(2)} s; ` +
                `Bulk API 2.0 ${bulk.calls} calls, ${bulk.seconds.toFixed(2)} s`
        );
        rows.push({
            candidates,
            restCalls: rest.calls,
            restSeconds: Number(rest.seconds.toFixed(2)),
            bulkCalls: bulk.calls,
            bulkSeconds: Number(bulk.seconds.toFixed(2))
        });
    }
    await gateway.close();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    await exited;
    console.log(JSON.stringify({ bench: 'read-paths', users: USERS, rows }));
}

(process.argv.includes('--peer') ? orgPeer : main)().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
