/**
 * The HTTP client that talks to the API: every request passes the politeness gate, non-200
 * answers become typed errors (retryable or not), and the body is read whole here, under a size
 * cap and checked against Content-Length, so a truncated body is retried rather than parsed.
 */
import { Readable } from 'node:stream';
import {
  GotScrapingHttpClient,
  type BaseHttpClient,
  type HttpRequest,
  type HttpResponse,
  type RedirectHandler,
  type ResponseTypes,
  type StreamingHttpResponse,
} from '@crawlee/core';
import { HttpStatusError, PayloadError, RetryableHttpError } from '../errors.js';
import type { Gate } from './gate.js';

/** The headers the API expects from its own widget pages, sent on every request. */
export const API_HEADERS = {
  Origin: 'https://widgets.motorsportstats.com',
  'X-Parent-Referer': 'https://motorsportstats.com/',
  Accept: 'application/json',
} as const;

export interface NetworkClientOptions {
  readonly gate: Gate;
  /** Per-request timeout once the gate let it through. */
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Underlying client. Default: Crawlee's got-scraping client. */
  readonly delegate?: BaseHttpClient;
}

export class NetworkClient implements BaseHttpClient {
  private readonly delegate: BaseHttpClient;

  constructor(private readonly options: NetworkClientOptions) {
    this.delegate = options.delegate ?? new GotScrapingHttpClient();
  }

  async stream(request: HttpRequest, onRedirect?: RedirectHandler): Promise<StreamingHttpResponse> {
    return this.options.gate.run(async () => {
      const sent: HttpRequest = {
        ...request,
        headers: { ...request.headers, ...API_HEADERS },
        // The crawler's navigation timeout also covers waiting at the gate; this one is the request's own.
        timeout: { request: this.options.timeoutMs },
        useHeaderGenerator: false,
        throwHttpErrors: false,
      };
      const response = await this.delegate.stream(sent, onRedirect);
      // 304 answers a revalidation (fetch-step.ts): the cached body stands. Asked unconditionally, it is an error.
      const notModified = response.statusCode === 304 && isConditional(request);
      if (response.statusCode !== 200 && !notModified) {
        response.stream.destroy();
        throw this.statusError(response);
      }
      const body = notModified ? (response.stream.destroy(), []) : await readBody(response, this.options.maxBodyBytes);
      // Only the fields the crawler reads: got's response also carries (Object.assign'ed from the
      // IncomingMessage) its socket, ClientRequest, got Request and stream state, which must not
      // live as long as the crawling context does.
      const { url, statusCode, statusMessage, headers, trailers, redirectUrls, complete, ip } = response;
      return bufferedResponse({ url, statusCode, statusMessage, headers, trailers, redirectUrls, complete, ip, request: sent }, body);
    }, isTransientFailure);
  }

  async sendRequest<T extends keyof ResponseTypes = 'text'>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    const response = await this.stream(request as HttpRequest);
    const body = Buffer.concat(await response.stream.toArray());
    const type = request.responseType ?? 'text';
    const value = type === 'buffer' ? body : type === 'json' ? JSON.parse(body.toString('utf8')) : body.toString('utf8');
    return { ...response, body: value } as unknown as HttpResponse<T>;
  }

  private statusError(response: StreamingHttpResponse): Error {
    const status = response.statusCode;
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      // 429/503 speak for the whole API: slow every request down, not only this one.
      if (status === 429 || status === 503) this.options.gate.pauseFor(retryAfterMs ?? (status === 429 ? 5_000 : 0));
      return new RetryableHttpError(status, retryAfterMs);
    }
    return new HttpStatusError(status);
  }
}

function isConditional(request: HttpRequest): boolean {
  const headers = request.headers ?? {};
  return Object.keys(headers).some((name) => /^if-(none-match|modified-since)$/i.test(name));
}

/** Failures that say the API (or the way to it) is unwell: they count towards the breaker. */
function isTransientFailure(error: unknown): boolean {
  return !(error instanceof HttpStatusError) && !(error instanceof PayloadError);
}

/**
 * The body's chunks as they came, once all of them are in and add up. They are not joined here:
 * the crawler joins what it reads from the stream anyway, and one copy of every body is enough.
 */
async function readBody(response: StreamingHttpResponse, maxBytes: number): Promise<Buffer[]> {
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > maxBytes) {
    response.stream.destroy();
    throw new PayloadError(`body of ${declared} bytes exceeds the ${maxBytes}-byte cap`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) {
      response.stream.destroy();
      throw new PayloadError(`body exceeds the ${maxBytes}-byte cap`);
    }
    chunks.push(chunk);
  }
  if (Number.isFinite(declared) && length !== declared) {
    throw new Error(`truncated body: ${length} of ${declared} bytes`);
  }
  return chunks;
}

/**
 * A response whose body is already in memory, for the crawler to read as if streamed. It is a
 * plain object of the listed fields only (never a spread of the client's response, which holds
 * the socket and the request objects), and its stream lets go of the body once it was read:
 * Crawlee keeps the response on the crawling context, and anything that outlives a request while
 * holding its context (a promise or socket created in its async context) must not pin the body.
 */
export function bufferedResponse(
  response: Omit<StreamingHttpResponse, 'stream' | 'downloadProgress' | 'uploadProgress'>,
  body: Buffer | readonly Buffer[],
  extraHeaders: Record<string, string> = {},
): StreamingHttpResponse {
  const { url, statusCode, statusMessage, headers, trailers, redirectUrls, complete, ip, request } = response;
  const chunks = Buffer.isBuffer(body) ? [body] : body;
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return {
    url, statusCode, statusMessage, trailers, redirectUrls, complete, ip, request,
    // Always JSON to the crawler: the pipeline decodes and validates the bytes itself.
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(length), ...extraHeaders },
    stream: chunkStream(chunks),
    downloadProgress: { percent: 1, transferred: length, total: length },
    uploadProgress: { percent: 1, transferred: 0, total: 0 },
  };
}

/** A stream of the chunks that lets go of them as it hands them on (Readable.from([body]) keeps them). */
function chunkStream(chunks: readonly Buffer[]): Readable {
  let pending: readonly Buffer[] | undefined = chunks;
  return new Readable({
    read() {
      const all = pending ?? [];
      pending = undefined;
      for (const chunk of all) if (chunk.length) this.push(chunk);
      this.push(null);
    },
    destroy(error, callback) {
      pending = undefined;
      callback(error);
    },
  });
}

export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
