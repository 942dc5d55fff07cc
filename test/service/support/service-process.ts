/**
 * The service as its own process (the kill and race tests): configured from the environment, prints
 * READY <url>. ROLLCALL_TEST_TIMERS=1 keeps its periodic sweep on, as in production.
 */
import { start } from '../../../service/src/main';

const timers = process.env.ROLLCALL_TEST_TIMERS === '1';
start({ timers, initialSweep: timers }).then(
    (service) => {
        process.stdout.write(`READY ${service.url}\n`);
    },
    (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
    }
);
