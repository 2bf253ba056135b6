/**
 * The HTTP client that talks to the API: every request passes the politeness gate, non-200
 * answers become typed errors (retryable or not), redirects are followed only within the API's
 * origin, and the body is read whole here, under a size cap, checked against Content-Length (a
 * truncated body is retried rather than parsed) and under the attempt's one deadline.
 */
import { Readable } from 'node:stream';
import {
  GotScrapingHttpClient,
  type BaseHttpClient,
  type HttpRequest,
  type HttpResponse,
  type ResponseTypes,
  type StreamingHttpResponse,
} from '@crawlee/core';
import { NonRetryableError } from '@crawlee/core';
import { DEFAULTS } from '../config.js';
import {
  ApiUnreachableError,
  HttpStatusError,
  PayloadError,
  RedirectRefusedError,
  RequestTimeoutError,
  RetryableHttpError,
  UnparseableBodyError,
  errorCode,
} from '../errors.js';
import { stringField } from '../record.js';
import type { Gate } from './gate.js';
import type { Reachability } from './reachability.js';

/** The headers the API expects from its own widget pages, sent on every request. */
export const API_HEADERS = {
  Origin: 'https://widgets.motorsportstats.com',
  'X-Parent-Referer': 'https://motorsportstats.com/',
  Accept: 'application/json',
} as const;

export interface NetworkClientOptions {
  readonly gate: Gate;
  /** One deadline per attempt, from the moment the gate lets it through to the body's last byte. */
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** The only origin redirects may lead to (the --base-url's). Default: the request URL's own. */
  readonly origin?: string;
  /** Told of every attempt that got an answer or none: it stops a crawl whose API cannot be reached. */
  readonly reachability?: Reachability;
  /** Underlying client. Default: Crawlee's got-scraping client. */
  readonly delegate?: BaseHttpClient;
}

/** How sendRequest hands a body back, by the responseType asked for. */
const BODY_READERS: { readonly [K in keyof ResponseTypes]: (body: Buffer) => ResponseTypes[K] } = {
  buffer: (body) => body,
  text: (body) => body.toString('utf8'),
  json: (body): unknown => JSON.parse(body.toString('utf8')),
};

/** Same-origin redirects followed per attempt: an API answers in place, a chain is a loop or a trap. */
export const MAX_REDIRECTS = 3;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class NetworkClient implements BaseHttpClient {
  private readonly delegate: BaseHttpClient;

  constructor(private readonly options: NetworkClientOptions) {
    this.delegate = options.delegate ?? new GotScrapingHttpClient();
  }

  async stream(request: HttpRequest): Promise<StreamingHttpResponse> {
    const url = String(request.url);
    return this.options.gate.run(url, () => this.attempt(request, url), isTransientFailure);
  }

  /** The whole answer, its body as `responseType` asks (text by default); canary reads its bodies so. */
  async sendRequest<T extends keyof ResponseTypes = 'text'>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    const { responseType, ...sent } = request;
    const { stream, downloadProgress: _down, uploadProgress: _up, ...response } = await this.stream(sent);
    const body = Buffer.concat(await stream.toArray());
    // why: BaseHttpClient's contract: a request that names no responseType is typed (T = 'text') and answered as text.
    const type = responseType ?? ('text' as T);
    return { ...response, request, body: BODY_READERS[type](body) };
  }

  /**
   * One attempt: the request, any same-origin redirects, and the whole body, under one deadline.
   * Redirects are followed here, not by got, so each Location is checked before anything is
   * sent to it: a body from another host is never even requested.
   */
  private async attempt(request: HttpRequest, url: string): Promise<StreamingHttpResponse> {
    const origin = this.options.origin ?? new URL(url).origin;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    try {
      const redirectUrls: URL[] = [];
      for (let current = url; ; ) {
        const sent: HttpRequest = {
          ...request,
          url: current,
          headers: { ...request.headers, ...API_HEADERS },
          signal: deadline.signal,
          // got's own limit, a backstop never reached before the signal (its errors are mapped below).
          timeout: { request: this.options.timeoutMs + 1_000 },
          followRedirect: false,
          useHeaderGenerator: false,
          throwHttpErrors: false,
        };
        let response: StreamingHttpResponse;
        try {
          response = await this.delegate.stream(sent);
        } catch (error) {
          this.options.reachability?.noAnswer(
            error,
            deadline.signal.aborted || (error instanceof Error && error.name === 'TimeoutError'),
          );
          throw error;
        }
        this.options.reachability?.answer();
        if (REDIRECT_STATUSES.has(response.statusCode)) {
          response.stream.destroy();
          const next = this.redirectTarget(response, current, origin, redirectUrls.length);
          redirectUrls.push(next);
          current = next.href;
          continue;
        }
        // 304 answers a revalidation (fetch-step.ts): the cached body stands. Asked unconditionally, it is an error.
        const notModified = response.statusCode === 304 && isConditional(request);
        if (response.statusCode !== 200 && !notModified) {
          response.stream.destroy();
          throw this.statusError(response, url);
        }
        let body: Buffer[] = [];
        if (notModified) response.stream.destroy();
        else body = await readBody(response, this.options.maxBodyBytes);
        // Only the fields the crawler reads: got's response also carries (Object.assign'ed from the
        // IncomingMessage) its socket, ClientRequest, got Request and stream state, which must not
        // live as long as the crawling context does.
        const { statusCode, statusMessage, headers, trailers, complete, ip } = response;
        return bufferedResponse(
          { url: current, statusCode, statusMessage, headers, trailers, redirectUrls, complete, ip, request: sent },
          body,
        );
      }
    } catch (error) {
      // Whichever fired (our deadline or got's backstop), the message carries the real figure;
      // got's TimeoutError must not reach Crawlee, which rewords it with its own handler timeout.
      if (error instanceof ApiUnreachableError) throw error;
      if (deadline.signal.aborted || (error instanceof Error && error.name === 'TimeoutError')) {
        throw new RequestTimeoutError(this.options.timeoutMs);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Where a redirect leads, if it may be followed: same origin, within MAX_REDIRECTS hops. */
  private redirectTarget(response: StreamingHttpResponse, from: string, origin: string, hops: number): URL {
    const raw = response.headers.location;
    const location = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!location) throw new HttpStatusError(response.statusCode);
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      throw new RedirectRefusedError(JSON.stringify(location.slice(0, 200)), 'off-origin', MAX_REDIRECTS);
    }
    if (next.origin !== origin) throw new RedirectRefusedError(next.href.slice(0, 200), 'off-origin', MAX_REDIRECTS);
    if (hops >= MAX_REDIRECTS) throw new RedirectRefusedError(next.href.slice(0, 200), 'too-many', MAX_REDIRECTS);
    return next;
  }

  private statusError(response: StreamingHttpResponse, url: string): Error {
    const status = response.statusCode;
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      // 429/503 may speak for the whole API: the gate pauses every request once several distinct
      // ones are asked to wait; until then this request alone waits (its retry delay, crawler.ts).
      const asked = retryAfterMs ?? (status === 429 ? DEFAULTS.rateLimitPauseMs : undefined);
      if ((status === 429 || status === 503) && asked !== undefined) this.options.gate.askedToWait(url, asked, status);
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
export function isTransientFailure(error: unknown): boolean {
  return !(error instanceof NonRetryableError) && !(error instanceof UnparseableBodyError);
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
  try {
    // why: a Readable iterates as any; got's body stream has no encoding set, so its chunks are Buffers.
    for await (const chunk of response.stream as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > maxBytes) {
        response.stream.destroy();
        throw new PayloadError(`body exceeds the ${maxBytes}-byte cap`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw asUndecompressable(error, contentEncoding(response)) ?? error;
  }
  if (Number.isFinite(declared) && length !== declared) {
    throw new Error(`truncated body: ${length} of ${declared} bytes`);
  }
  return chunks;
}

/**
 * A body the client could not decompress (a `Content-Encoding: gzip` over bytes that are not gzip,
 * or cut short inside the compressed stream) as an unparseable body: retried like a 5xx, then
 * failed with this reason. Undefined for any other error.
 */
function asUndecompressable(error: unknown, encoding: string | undefined): UnparseableBodyError | undefined {
  const code = errorCode(error);
  if (code === undefined || !/^(Z_|ERR_BROTLI|ERR_ZLIB|ERR__ZLIB)/.test(code)) return undefined;
  return new UnparseableBodyError(
    `body could not be decompressed (content-encoding ` +
      `${encoding ?? 'unknown'}): ${stringField(error, 'message') || code}`,
  );
}

/**
 * The Content-Encoding the server sent. got drops the header once it decompresses; the raw
 * headers of the message (which Crawlee's client copies onto the response) still have it.
 */
function contentEncoding(response: StreamingHttpResponse): string | undefined {
  const header = response.headers['content-encoding'];
  if (header !== undefined) return [header].flat().join(', ');
  const raw: unknown = Reflect.get(response, 'rawHeaders');
  if (!Array.isArray(raw)) return undefined;
  const at = raw.findIndex((name, i) => i % 2 === 0 && String(name).toLowerCase() === 'content-encoding');
  return at < 0 ? undefined : String(raw[at + 1]);
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
): StreamingHttpResponse {
  const { url, statusCode, statusMessage, headers, trailers, redirectUrls, complete, ip, request } = response;
  const chunks = Buffer.isBuffer(body) ? [body] : body;
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return {
    url,
    statusCode,
    statusMessage,
    headers,
    trailers,
    redirectUrls,
    complete,
    ip,
    request,
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

/**
 * Retry-After in ms: delay-seconds (digits only) or an HTTP-date; undefined when absent or
 * unreadable (a negative, fractional or hex "number" is not a delay the RFC allows).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
