/**
 * One request before a crawl that needs the network: an API that cannot be reached at all (no
 * network, a mistyped --base-url) is reported at once as one line, instead of the circuit
 * breaker pausing for minutes. An API that answers with errors is left to retries and the breaker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { apiPath } from '../api/endpoints.js';
import { API_HEADERS } from './network-client.js';

/** Attempts of the check: one dropped connection among many must not stop a crawl before it starts. */
const ATTEMPTS = 3;

export async function checkApiReachable(baseUrl: string, timeoutMs = 15_000): Promise<void> {
  const url = baseUrl + apiPath({ label: 'series' });
  for (let attempt = 1; ; attempt++) {
    try {
      // A redirect is not followed: whatever it says, the API answered, and nothing goes off its origin.
      const response = await fetch(url, { method: 'HEAD', headers: API_HEADERS, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return;
    } catch (error) {
      if (attempt < ATTEMPTS) {
        await sleep(500 * attempt);
        continue;
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new UserError(`cannot reach the API at ${baseUrl} (${reason}): check the network or --base-url; --cache only crawls from the cache alone`);
    }
  }
}
