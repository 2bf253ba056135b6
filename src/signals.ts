/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that can stop gracefully (crawl).
 *
 * The first signal aborts the returned AbortSignal: the command stops starting work, lets what is
 * in flight finish and exits 130 itself. If it has not within DEFAULTS.interruptGraceMs (something
 * is stuck), the process exits 130 anyway: everything committed is kept.
 *
 * The second signal ends the process at once. For that no handler of ours runs: the first signal
 * removes every listener of both signals, so Node gives them back their default action and the
 * kernel ends the process (the shell reports 130 for SIGINT, 143 for SIGTERM). A JavaScript handler
 * could not run while the event loop is blocked (synchronous WebAssembly work in the embedded
 * database, say); the default action needs no JavaScript. (Crawlee's own SIGINT listener, which
 * pauses the pool for up to 20 s and then aborts it, is among those removed after its one call.)
 */
import { DEFAULTS } from './config.js';
import type { Logger } from './log.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function interruptSignal(log: Logger, graceMs: number = DEFAULTS.interruptGraceMs): AbortSignal {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    for (const signal of STOP_SIGNALS) process.removeAllListeners(signal);
    log.warn(
      `${name}: stopping: no new request starts, those in flight finish ` +
        `(at most ${graceMs / 1000} s); press Ctrl-C again to quit at once`,
    );
    controller.abort();
    const deadline = setTimeout(() => {
      log.error(
        `still not stopped ${graceMs / 1000} s after ${name} (a request or a database write ` +
          `is stuck): exiting; everything committed is kept, run the same command again to resume`,
      );
      process.exit(130);
    }, graceMs);
    // The command's own exit must not wait for it.
    deadline.unref();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return controller.signal;
}
