/** Ctrl-C and SIGTERM: how a running command hears that it should stop. */
import type { Logger } from './log.js';

/** First Ctrl-C / SIGTERM: a graceful stop. Second: leave at once (the queue and the database stay consistent). */
export function interruptSignal(log: Logger): AbortSignal {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      log.warn('second interrupt: exiting now; run the command again to resume');
      process.exit(130);
    }
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
