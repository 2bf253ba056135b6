/**
 * One request before a crawl that needs the network: an API that cannot be reached at all (no
 * network, a mistyped --base-url) is reported at once as one line, instead of the circuit
 * breaker pausing for minutes. An API that answers with errors is left to retries and the breaker.
 */
import { UserError } from '../errors.js';
import { apiPath } from '../api/endpoints.js';
import { API_HEADERS } from './network-client.js';

export async function checkApiReachable(baseUrl: string, timeoutMs = 15_000): Promise<void> {
  const url = baseUrl + apiPath({ label: 'series' });
  try {
    const response = await fetch(url, { method: 'HEAD', headers: API_HEADERS, signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new UserError(`cannot reach the API at ${baseUrl} (${reason}): check the network or --base-url; --cache only crawls from the cache alone`);
  }
}
