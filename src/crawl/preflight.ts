/**
 * One request before a crawl that needs the network: an API that cannot be reached at all (no
 * network, a mistyped --base-url) is reported at once as one line, instead of the circuit
 * breaker pausing for minutes. An API that answers with errors is left to retries and the breaker.
 */
import { DEFAULTS } from '../config.js';
import { UserError, describeError, errorCode } from '../errors.js';
import { apiPath } from '../api/endpoints.js';
import { withRetries } from '../retry.js';
import { API_HEADERS } from './network-client.js';

export async function checkApiReachable(baseUrl: string, timeoutMs: number = DEFAULTS.reachabilityTimeoutMs): Promise<void> {
  const url = baseUrl + apiPath({ label: 'series' });
  try {
    await withRetries(async () => {
      // A redirect is not followed: whatever it says, the API answered, and nothing goes off its origin.
      const response = await fetch(url, { method: 'HEAD', headers: API_HEADERS, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
    }, { retries: DEFAULTS.reachabilityAttempts - 1, baseMs: DEFAULTS.reachabilityRetryBaseMs, jitter: false, retryable: () => true });
  } catch (error) {
    // fetch() words every network failure "fetch failed": the reason is in its cause.
    const cause = error instanceof Error ? error.cause : undefined;
    const reason = errorCode(cause) ?? (cause instanceof Error ? cause.message : undefined) ?? describeError(error);
    throw new UserError(`cannot reach the API at ${baseUrl} (${reason}): check the network or --base-url; --cache only crawls from the cache alone`);
  }
}
