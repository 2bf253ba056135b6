/**
 * The HTTP client that talks to the API: every request passes the politeness gate, non-200
 * answers become typed errors (retryable or not), redirects are followed only to the resource
 * asked for (the same path on the API's origin), and the body is read whole and decompressed
 * here, under a size cap, its bytes on the wire checked against Content-Length (a truncated body
 * is retried rather than parsed), under the attempt's one deadline.
 *
 * What the gate's circuit breaker counts as a sign of an outage (isOutageSign) is decided here:
 * no answer (a refused or reset connection, a DNS failure), a timeout, a 5xx or a 429. A 200 whose
 * body is bad (cut short, undecodable, over the cap) is that request's own trouble: the API did
 * answer, so it spends the request's attempts and never pauses the crawl.
 */
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import {
  GotScrapingHttpClient,
  type BaseHttpClient,
  type HttpRequest,
  type HttpResponse,
  type ResponseTypes,
  type StreamingHttpResponse,
} from '@crawlee/core';
import { DEFAULTS } from '../config.js';
import {
  ApiUnreachableError,
  HttpStatusError,
  PayloadError,
  RedirectRefusedError,
  NoAnswerError,
  RequestNotBuiltError,
  RequestTimeoutError,
  RetryableHttpError,
  UnparseableBodyError,
  describeError,
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
  // The body is decompressed here (readBody), not by got, so these are the encodings it reads.
  'Accept-Encoding': 'gzip, deflate, br',
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

/** Redirects followed per attempt: an API answers in place, a chain is a loop or a trap. */
export const MAX_REDIRECTS = 3;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class NetworkClient implements BaseHttpClient {
  private readonly delegate: BaseHttpClient;

  constructor(private readonly options: NetworkClientOptions) {
    this.delegate = options.delegate ?? new GotScrapingHttpClient();
  }

  async stream(request: HttpRequest): Promise<StreamingHttpResponse> {
    const url = String(request.url);
    return this.options.gate.run(url, () => this.attempt(request, url), isOutageSign);
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
   * One attempt: the request, any redirects to the same resource, and the whole body, under one deadline.
   * Redirects are followed here, not by got, so each Location is checked before anything is
   * sent to it: a body from another host is never even requested.
   */
  private async attempt(request: HttpRequest, url: string): Promise<StreamingHttpResponse> {
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
          // readBody decompresses: got-scraping's own decompressor flushes a cut-short stream as if it
          // were whole, and hides the bytes on the wire that Content-Length counts.
          decompress: false,
          followRedirect: false,
          useHeaderGenerator: false,
          throwHttpErrors: false,
        };
        let response: StreamingHttpResponse;
        try {
          response = await this.delegate.stream(sent);
        } catch (error) {
          const timedOut = deadline.signal.aborted || (error instanceof Error && error.name === 'TimeoutError');
          // Node refuses to send a header it finds invalid: asking again would build the same request.
          if (!timedOut && isUnbuildable(error)) throw new RequestNotBuiltError(describeError(error));
          this.options.reachability?.noAnswer(error, timedOut);
          throw timedOut || error instanceof ApiUnreachableError ? error : new NoAnswerError(error);
        }
        this.options.reachability?.answer();
        if (REDIRECT_STATUSES.has(response.statusCode)) {
          response.stream.destroy();
          const next = this.redirectTarget(response, url, current, redirectUrls.length);
          redirectUrls.push(next);
          current = next.href;
          continue;
        }
        // 304 answers a revalidation (fetch-step.ts): the cached body stands. Asked unconditionally, it is an error.
        const notModified = response.statusCode === 304 && isConditional(request);
        if (response.statusCode === 304 && !notModified) {
          response.stream.destroy();
          throw new HttpStatusError(304, 'Not Modified to a request that asked nothing conditionally');
        }
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
        const { statusCode, statusMessage, trailers, complete, ip } = response;
        // The body handed on is decompressed: the headers that described it on the wire no longer do.
        const { 'content-encoding': _encoding, 'content-length': _length, ...rest } = response.headers;
        const headers = contentEncoding(response) === undefined ? response.headers : rest;
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

  /**
   * Where a redirect leads, if it may be followed: to the same resource, within MAX_REDIRECTS hops.
   * The same resource is the requested path on the API's origin (or on its https:// twin, an
   * http:// base upgraded), a trailing slash or a query aside. Another path on the same origin is
   * another resource (another season's calendar, another API version): its body would be stored
   * under the requested target, so it is refused like another origin.
   */
  private redirectTarget(response: StreamingHttpResponse, requested: string, from: string, hops: number): URL {
    const raw = response.headers.location;
    const location = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!location) throw new HttpStatusError(response.statusCode);
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      throw new RedirectRefusedError(JSON.stringify(location.slice(0, 200)), 'off-origin', MAX_REDIRECTS);
    }
    const origin = this.options.origin ?? new URL(requested).origin;
    const shown = next.href.slice(0, 200);
    if (next.origin !== origin && next.origin !== httpsTwin(origin)) {
      throw new RedirectRefusedError(shown, 'off-origin', MAX_REDIRECTS);
    }
    if (trimSlashes(next.pathname) !== trimSlashes(new URL(requested).pathname)) {
      throw new RedirectRefusedError(shown, 'other-path', MAX_REDIRECTS);
    }
    if (hops >= MAX_REDIRECTS) throw new RedirectRefusedError(shown, 'too-many', MAX_REDIRECTS);
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

/** The https:// origin of an http:// one on its default port (an upgrade to TLS); undefined otherwise. */
function httpsTwin(origin: string): string | undefined {
  const url = new URL(origin);
  return url.protocol === 'http:' && url.port === '' ? `https://${url.hostname}` : undefined;
}

function trimSlashes(path: string): string {
  return path.replace(/\/+$/, '');
}

function isConditional(request: HttpRequest): boolean {
  const headers = request.headers ?? {};
  return Object.keys(headers).some((name) => /^if-(none-match|modified-since)$/i.test(name));
}

/**
 * Failures that say the API (or the way to it) is unwell: no answer, a timeout, a 5xx or a 429.
 * They count towards the breaker, and while its circuit is open the attempt is given back. Anything
 * else (a bad body after a 200, a 4xx, a refused redirect, a request that could not be built) is
 * the request's own failure.
 */
export function isOutageSign(error: unknown): boolean {
  return (
    error instanceof NoAnswerError ||
    error instanceof RequestTimeoutError ||
    error instanceof RetryableHttpError ||
    error instanceof ApiUnreachableError
  );
}

/** Node's refusals to build a request (a header value with a control byte, a bad header name). */
const UNBUILDABLE_CODES = new Set(['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE']);

function isUnbuildable(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && UNBUILDABLE_CODES.has(code);
}

/**
 * The body, whole and decompressed, once all of it is in: its bytes on the wire must add up to
 * Content-Length (a body cut short is retried rather than parsed), and a compressed one must end
 * where its compressed stream says it does. Bodies sent as they are stay in the chunks they came
 * in: the crawler joins what it reads from the stream anyway, and one copy of every body is enough.
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
    if (error instanceof PayloadError) throw error;
    // The API answered 200: whatever went wrong with its body is this request's failure, not an outage.
    throw asCutShort(error, length, declared);
  }
  if (Number.isFinite(declared) && length !== declared) {
    throw new UnparseableBodyError(`body cut short: ${length} of ${declared} bytes`);
  }
  const encoding = contentEncoding(response);
  return encoding === undefined || length === 0 ? chunks : decompress(chunks, encoding, maxBytes);
}

/**
 * The body under its Content-Encoding (a list is undone last first), under the same cap. A stream
 * that ends early or holds bytes that are not in its encoding fails as undecompressable.
 */
async function decompress(chunks: Buffer[], header: string, maxBytes: number): Promise<Buffer[]> {
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  let body = chunks;
  for (const coding of codings.reverse()) {
    const decoder = decoderFor(coding, body[0]);
    if (!decoder) throw new UnparseableBodyError(`body in an encoding not asked for (content-encoding ${header})`);
    const out: Buffer[] = [];
    let length = 0;
    try {
      await pipeline(Readable.from(body), decoder, async (decoded: AsyncIterable<Buffer>) => {
        for await (const chunk of decoded) {
          length += chunk.length;
          if (length > maxBytes) throw new PayloadError(`body exceeds the ${maxBytes}-byte cap once decompressed`);
          out.push(chunk);
        }
      });
    } catch (error) {
      if (error instanceof PayloadError) throw error;
      throw asUndecompressable(error, header) ?? error;
    }
    body = out;
  }
  return body;
}

/**
 * The decoder of one content coding. `deflate` is meant to be zlib-wrapped, but servers send raw
 * deflate under that name too: a first byte that is no zlib header tells it apart.
 */
function decoderFor(coding: string, first: Buffer | undefined): Transform | undefined {
  if (coding === 'gzip' || coding === 'x-gzip') return createGunzip();
  if (coding === 'br') return createBrotliDecompress();
  if (coding !== 'deflate') return undefined;
  const zlibWrapped = first !== undefined && first.length > 0 && (first[0]! & 0x0f) === 8;
  return zlibWrapped ? createInflate() : createInflateRaw();
}

/**
 * A body that could not be decompressed (a `Content-Encoding: gzip` over bytes that are not gzip,
 * or cut short inside the compressed stream) as an unparseable body: retried, then failed with
 * this reason. Undefined for any other error.
 */
function asUndecompressable(error: unknown, encoding: string): UnparseableBodyError | undefined {
  const code = errorCode(error);
  // zlib's codes are Z_*; Brotli's decoder errors come as ERR__ERROR_FORMAT_* and the like.
  if (code === undefined || !/^(Z_|ERR_BROTLI|ERR_ZLIB|ERR__)/.test(code)) return undefined;
  return new UnparseableBodyError(
    `body could not be decompressed (content-encoding ${encoding}): ${stringField(error, 'message') || code}`,
  );
}

/**
 * A body whose reading failed after the 200 came (the connection closed before Content-Length
 * bytes, a compressed body shorter on the wire than its header said): cut short, retried.
 */
function asCutShort(error: unknown, received: number, declared: number): UnparseableBodyError {
  const of = Number.isFinite(declared) ? `, Content-Length ${declared}` : '';
  return new UnparseableBodyError(
    `body cut short (${received} bytes read${of}): ${stringField(error, 'message') || String(error)}`,
  );
}

/** The Content-Encoding the server sent (got is told not to decompress, so it leaves the header be). */
function contentEncoding(response: StreamingHttpResponse): string | undefined {
  const header = response.headers['content-encoding'];
  return header === undefined ? undefined : [header].flat().join(', ');
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
