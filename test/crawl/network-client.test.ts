/**
 * The network client over real HTTP against a small local server: a request Node refuses to build
 * is never sent nor retried, a 304 nobody asked for says so, and the encodings asked for are the
 * ones the client decompresses itself.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Gate } from '../../src/crawl/gate.js';
import { NetworkClient } from '../../src/crawl/network-client.js';
import { HttpStatusError, RequestNotBuiltError } from '../../src/errors.js';

describe('NetworkClient', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A server answering every request with `status` (and a JSON body for a 200), noting the headers received. */
  async function serve(status: number): Promise<{ url: string; received: IncomingHttpHeaders[] }> {
    const received: IncomingHttpHeaders[] = [];
    server = createServer((req, res) => {
      received.push(req.headers);
      if (status !== 200) return void res.writeHead(status).end();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('[]');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/series`, received };
  }

  const client = () =>
    new NetworkClient({ gate: new Gate({ concurrency: 1, maxRpm: Infinity }), timeoutMs: 5_000, maxBodyBytes: 1e6 });

  it('fails a request Node refuses to build without sending it, as not to be retried', async () => {
    const { url, received } = await serve(200);
    const sent = client().sendRequest({ url, headers: { 'if-none-match': '"\u0000x"' } });
    await expect(sent).rejects.toThrow(RequestNotBuiltError);
    await expect(sent).rejects.toThrow(/^request could not be built: Invalid character in header content/);
    expect(received).toEqual([]);
  });

  it('names a 304 to a request that asked nothing conditionally', async () => {
    const { url } = await serve(304);
    const sent = client().sendRequest({ url });
    await expect(sent).rejects.toThrow(HttpStatusError);
    await expect(sent).rejects.toThrow('HTTP 304 (Not Modified to a request that asked nothing conditionally)');
  });

  it('asks for the encodings it reads', async () => {
    const { url, received } = await serve(200);
    const answer = await client().sendRequest({ url, responseType: 'text' });
    expect(answer.body).toBe('[]');
    expect(received).toHaveLength(1);
    expect(received[0]!['accept-encoding']).toBe('gzip, deflate, br');
  });
});
