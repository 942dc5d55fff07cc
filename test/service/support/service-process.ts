/** The service as its own process (for the kill test): configured from the environment, prints READY <url>. */
import { start } from '../../../service/src/main';

start({ timers: false, initialSweep: false }).then(
    (service) => {
        process.stdout.write(`READY ${service.url}\n`);
    },
    (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
    }
);
