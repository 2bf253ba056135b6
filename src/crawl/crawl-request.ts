/**
 * A request's identity in the crawl: its target (label + uuid) and its meta, carried in the
 * Crawlee request's userData. toRequest() is the one way in and readRequest() the one way back:
 * userData comes back from the queue's journal on disk (written by this or an earlier version),
 * so its shape is checked here rather than assumed.
 */
import { NonRetryableError, type RequestOptions } from '@crawlee/core';
import { apiPath, isLabel, UUID_PATTERN, type ApiTarget } from '../api/endpoints.js';
import type { ChildRequest, RequestMeta } from './routes/types.js';

/**
 * What a request's userData holds. `label` is Crawlee's own field (its router dispatches on it and
 * the journal counts by it); the target is `label` with `uuid`. The flat shape is the one queues
 * of earlier versions hold, so they still resume.
 */
export interface RequestData extends RequestMeta {
  readonly label: ApiTarget['label'];
  readonly uuid: string | undefined;
}

/** The Crawlee request for an API target. Its unique key is the API path (plus a retry tag). */
export function toRequest(
  baseUrl: string,
  target: ApiTarget,
  meta: RequestMeta,
  retryTag?: string,
): RequestOptions<RequestData> {
  const apiUrlPath = apiPath(target);
  return {
    url: baseUrl + apiUrlPath,
    uniqueKey: retryTag ? `${apiUrlPath}#${retryTag}` : apiUrlPath,
    label: target.label,
    userData: {
      label: target.label,
      uuid: target.uuid,
      historic: meta.historic,
      ...(meta.endsAt !== undefined ? { endsAt: meta.endsAt } : {}),
    },
  };
}

/** The target and meta of a request's userData; throws a NonRetryableError naming what is wrong. */
export function readRequest(userData: unknown): ChildRequest {
  if (!isRecord(userData)) throw unreadable('no userData');
  const { label, uuid, historic, endsAt } = userData;
  if (!isLabel(label)) throw unreadable(`unknown label ${JSON.stringify(label)}`);
  if (typeof historic !== 'boolean') throw unreadable(`historic is ${JSON.stringify(historic)}`);
  if (endsAt !== undefined && typeof endsAt !== 'number') throw unreadable(`endsAt is ${JSON.stringify(endsAt)}`);
  let target: ApiTarget;
  if (label === 'series') target = { label };
  else if (typeof uuid === 'string' && UUID_PATTERN.test(uuid)) target = { label, uuid };
  else throw unreadable(`the ${label} request's uuid ${JSON.stringify(uuid)} is not a UUID`);
  return { target, meta: endsAt === undefined ? { historic } : { historic, endsAt } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function unreadable(what: string): NonRetryableError {
  return new NonRetryableError(`unreadable request in the queue: ${what}`);
}
