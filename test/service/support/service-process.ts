/**
 * The service as its own process (the kill and race tests): configured from the environment, prints
 * READY <url>. ROLLCALL_TEST_TIMERS=1 keeps its periodic sweep on, as in production. CONNECTIONS_FILE
 * connections go through the SCIM adapter (createScimDirectory), as in main().
 */
import { createScimDirectory } from '../../../service/src/adapters/scim';
import { start } from '../../../service/src/main';

const timers = process.env.ROLLCALL_TEST_TIMERS === '1';
// CONNECTIONS_FILE's entries reach their apps through the SCIM adapter, as `npm start` wires it.
start({ timers, initialSweep: timers, createDirectory: createScimDirectory }).then(
    (service) => {
        process.stdout.write(`READY ${service.url}\n`);
    },
    (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
    }
);
