/**
 * The crawler's error vocabulary. Each class says how the error ends: a user's mistake ends the
 * command with one line and exit 1; a payload error fails one request without retries; a database
 * outage stops the crawl so the queue is not burnt through.
 */
import { NonRetryableError, RetryRequestError } from '@crawlee/core';
import { isObject, stringField } from './record.js';

/** A mistake in what the user asked for (flags, env vars, paths): one line, exit 1, no stack. */
export class UserError extends Error {
  override name = 'UserError';
}

/**
 * The API could not be reached at all (see crawl/reachability.ts): one line, exit 1. The crawl
 * stops where it is, its queue kept for the next run.
 */
export class ApiUnreachableError extends UserError {
  override name = 'ApiUnreachableError';
  constructor(baseUrl: string, reason: string) {
    super(
      `cannot reach the API at ${baseUrl} (${reason}): check the ` +
        `network or --base-url; --cache only crawls from the cache alone`,
    );
  }
}

/**
 * The command was stopped (Ctrl-C, SIGTERM) while it was preparing, before there was anything to
 * keep or resume: one line, exit 130.
 */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/** The database cannot be reached or went away: stop the crawl, keep the queue for a resume. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem found in a payload, with the JSON pointer of where it is. */
export interface PayloadProblem {
  readonly instancePath: string;
  readonly message: string;
}

/**
 * A response body that must not be stored: malformed JSON, invalid UTF-8, too large, or failing its
 * schema. Retrying would fetch the same bytes, so Crawlee is told not to retry.
 */
export class PayloadError extends NonRetryableError {
  override name = 'PayloadError';
  constructor(
    readonly reason: string,
    readonly problems: readonly PayloadProblem[] = [],
  ) {
    super(problems.length ? `${reason}: ${problems.map(formatProblem).join('; ')}` : reason);
  }
}

/** An HTTP answer other than 200 that will not change by asking again (404, 400, …). */
export class HttpStatusError extends NonRetryableError {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    detail?: string,
  ) {
    super(detail ? `HTTP ${status} (${detail})` : `HTTP ${status}`);
  }
}

/**
 * No answer at all: the connection refused, reset before a status line, a DNS failure. A sign of
 * an outage (the gate's breaker counts it); the message is the underlying error's own.
 */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError';
  readonly code: string | undefined;
  constructor(cause: unknown) {
    super(describeError(cause), { cause });
    this.code = errorCode(cause);
  }
}

/**
 * A request Node refused to send (a header value it finds invalid): asking again would build the
 * same request, so it is not retried.
 */
export class RequestNotBuiltError extends NonRetryableError {
  override name = 'RequestNotBuiltError';
  constructor(reason: string) {
    super(`request could not be built: ${reason}`);
  }
}

/** An HTTP answer worth asking again (5xx, 429): Crawlee retries it with backoff. */
export class RetryableHttpError extends Error {
  override name = 'RetryableHttpError';
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}${retryAfterMs !== undefined ? ` (Retry-After ${Math.round(retryAfterMs / 1000)} s)` : ''}`);
  }
}

/**
 * A request the crawl stopped before it was sent (Ctrl-C, SIGTERM): it goes back to the queue with
 * its attempt given back. A RetryRequestError, so Crawlee puts it back whatever its retry count.
 */
export class RequestNotStartedError extends RetryRequestError {
  override name = 'RequestNotStartedError';
  constructor() {
    super('not started: the crawl is stopping');
  }
}

/**
 * A 200 whose body is not JSON: cut short under clean framing, a proxy's HTML page, empty. The
 * next attempt may well get the real body, so it is retried like a 5xx.
 */
export class UnparseableBodyError extends Error {
  override name = 'UnparseableBodyError';
}

/** The attempt's one deadline (headers and the whole body) passed. Retried like a 5xx. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)}`);
  }
}

/**
 * The API sent us elsewhere: another origin (whose answers are not API data), another path of its
 * own (another resource than the one asked for), or round in more hops than any real API needs.
 * Asking again would be sent the same way.
 */
export class RedirectRefusedError extends NonRetryableError {
  override name = 'RedirectRefusedError';
  constructor(
    readonly location: string,
    reason: 'off-origin' | 'other-path' | 'too-many',
    limit: number,
  ) {
    super(
      reason === 'off-origin'
        ? `redirected off the API's origin to ${location}: not followed`
        : reason === 'other-path'
          ? `redirected to another path of the API, ${location}: not followed (its body is not the one asked for)`
          : `more than ${limit} redirects (the last to ${location}): not followed`,
    );
  }
}

/** `--cache only` asked for a body the cache does not hold. */
export class CacheMissError extends NonRetryableError {
  override name = 'CacheMissError';
  constructor(key: string) {
    super(`not in the cache (${key})`);
  }
}

/** What the operating system said, for the codes that mean the machine, not the crawl, is at fault. */
const RESOURCE_CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
};

/**
 * The disk refused a write (full, read-only, no permission, an I/O error) at `path`: the crawl
 * stops with this one line, exit 1, and resumes exactly once the cause is fixed. Nothing is
 * recorded as failed: the request that met it is redone by the resume.
 */
export class ResourceError extends Error {
  override name = 'ResourceError';
  constructor(
    readonly code: string,
    readonly path: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(`${RESOURCE_CAUSES[code] ?? code} at ${path}${detail ? ` (${detail})` : ''}`, options);
  }
}

/** The string `code` a thrown value carries (an errno name such as ENOENT, a SQLSTATE), if any. */
export function errorCode(error: unknown): string | undefined {
  return stringField(error, 'code');
}

/** `error` as a ResourceError at `path` when its errno code is one of a machine's; undefined otherwise. */
export function asResourceError(error: unknown, path: string): ResourceError | undefined {
  if (error instanceof ResourceError) return error;
  const code = errorCode(error);
  return code !== undefined && code in RESOURCE_CAUSES
    ? new ResourceError(code, path, undefined, { cause: error })
    : undefined;
}

/**
 * Rows refused for what they hold (or lack), not for the database's state: asking again would meet the same
 * refusal, so the request is not retried, and in a transaction shared by several requests' rows
 * only the request the rows came from fails (the sink commits the others without it).
 */
export class RowsRefusedError extends NonRetryableError {
  override name = 'RowsRefusedError';
}

/**
 * A row the database refused on an integrity constraint (foreign key, check, not-null, unique,
 * exclusion: SQLSTATE class 23). The message names the table, the constraint and the key, never
 * the statement's SQL.
 */
export class IntegrityError extends RowsRefusedError {
  override name = 'IntegrityError';
  constructor(
    readonly sqlState: string,
    readonly table: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A value its column cannot hold (SQLSTATE class 22, data exception: an integer out of range, a NUL
 * in text, a date beyond the calendar). The schemas keep such values out of the rows; this is the
 * database's word when one gets through anyway.
 */
export class DataValueError extends RowsRefusedError {
  override name = 'DataValueError';
  constructor(
    readonly sqlState: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A payload that lists nothing of a set the database holds live rows of (a series list `[]`, a
 * calendar with no events, a classification with no cars): taken at its word it would soft-delete
 * the whole set at once, which an API glitch or a hostile answer does far more often than upstream
 * really empties a set. Refused whole; the mirror keeps its rows.
 */
export class EmptiedSetError extends RowsRefusedError {
  override name = 'EmptiedSetError';
  constructor(table: string, where: readonly (readonly [column: string, value: unknown])[], stored: number) {
    const scope = where.map(([column, value]) => `${column} ${String(value)}`).join(', ');
    super(
      `refused: the payload lists no ${table}${scope ? ` of ${scope}` : ''} and would soft-delete all ` +
        `${stored} stored (a set emptied at once is not trusted)`,
    );
  }
}

/** A cached record that fails its check (cut short, or its bytes no longer match its hash). */
export class CacheDamagedError extends NonRetryableError {
  override name = 'CacheDamagedError';
  constructor(key: string, reason: string) {
    super(`cached record corrupt (${key}): ${reason}`);
  }
}

export function formatProblem(problem: PayloadProblem): string {
  return `${problem.instancePath || '/'} ${problem.message}`;
}

/** "30 s", "2.5 s": a duration as people read it in messages. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** The one-line description of any thrown value, for logs and failure records. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] || error.name;
  return describeThrown(error);
}

/**
 * A thrown value that is not an Error (an Emscripten ErrnoError from PGlite's file system, a
 * plain object from a library): its message, code or errno, never `[object Object]`.
 */
export function describeThrown(value: unknown): string {
  if (!isObject(value)) return String(value);
  const { message, code, errno, name } = value;
  const parts = [
    typeof message === 'string' && message ? message.split('\n')[0] : undefined,
    code ?? (errno !== undefined ? `errno ${String(errno)}` : undefined),
  ];
  const text = parts.filter((p) => p !== undefined && p !== '').map(String);
  if (text.length) return text.length === 2 ? `${text[0]} (${text[1]})` : text[0]!;
  if (typeof name === 'string' && name) return name;
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
