/**
 * `canary`: does the live API still match schemas/? Walks a small sample of the tree (the latest
 * seasons of a few series of different categories, the latest classifications of each) straight
 * from the network, politely, with no cache and no database, validates every payload, and reports
 * per endpoint. Drift is any payload the crawler would not store whole: a schema mismatch, an item
 * it would quarantine, a body that is not JSON (or not UTF-8, or too large).
 */
import { NonRetryableError } from '@crawlee/core';
import { apiPath, LABELS, type ApiTarget, type Label, type PayloadByLabel } from '../api/endpoints.js';
import type { SeriesItem } from '../api/payloads.generated.js';
import { checkNamedParent, validatePayload } from '../api/validate.js';
import type { Options } from 'yargs';
import { DEFAULTS, resolveApi, resolveLogging, wholeNumber, type CanaryConfig, type Env } from '../config.js';
import {
  API_OPTIONS,
  LOGGING_OPTIONS,
  commandLogger,
  printResult,
  wholeNumberOption,
  type CommandModule,
  type ApiArgs,
  type LoggingArgs,
} from './options.js';
import { decodeJson } from '../crawl/decode.js';
import { Gate } from '../crawl/gate.js';
import { calendarEdge } from '../crawl/routes/calendar.js';
import { classificationEdge } from '../crawl/routes/classification.js';
import { seasonsEdge } from '../crawl/routes/seasons.js';
import { follow, ROOT, sessionNodes, WHOLE_TREE } from '../crawl/tree.js';
import { NetworkClient } from '../crawl/network-client.js';
import { PayloadError, describeError, formatProblem } from '../errors.js';
import type { Logger } from '../log.js';
import { recordOf } from '../record.js';
import { withRetries } from '../retry.js';
import { formatTable } from '../text-table.js';
import { count } from '../words.js';

/** Seasons tried per series, newest first, to find one with results (the newest may not have started). */
const SEASONS_TRIED = 2;
/**
 * Series tried per series sampled, at most, before giving up: many series list no seasons with
 * results (most of the shipped recorded replica's 86; a few on the live API), and each try costs
 * one request. 20 lets the default sample of 4 find its series on the replica.
 */
const TRIES_PER_SAMPLE = 20;
/** Distinct problems kept per endpoint. */
const PROBLEMS_KEPT = 5;

export interface CanaryProblem {
  /** The problem with list indices replaced by `*`, so one drift seen in many items is one line. */
  readonly problem: string;
  count: number;
  /** A URL that showed it. */
  readonly url: string;
}

export interface EndpointCheck {
  /** Payloads fetched and validated. */
  checked: number;
  matched: number;
  drifted: number;
  /** Requests that got no payload (HTTP errors, network failures) after retries. */
  errors: number;
  readonly problems: CanaryProblem[];
}

export type CanaryOutcome = 'match' | 'drift' | 'incomplete';

export interface CanaryReport {
  readonly baseUrl: string;
  readonly startedAt: string;
  readonly seconds: number;
  /** The series sampled, by name. */
  readonly series: readonly string[];
  readonly endpoints: Record<Label, EndpointCheck>;
  /** drift: some payload drifted; incomplete: no drift, but something could not be checked; match: all matched. */
  readonly outcome: CanaryOutcome;
  /** What could not be checked, and why: never empty when the outcome is incomplete. */
  readonly notes: readonly string[];
}

/** Exit codes: 0 the API matches, 2 drift, 1 the check could not be completed. */
export function canaryExitCode(outcome: CanaryOutcome): number {
  return { match: 0, drift: 2, incomplete: 1 }[outcome];
}

export async function runCanary(config: CanaryConfig, { log }: { readonly log: Logger }): Promise<CanaryReport> {
  const started = Date.now();
  const checker = new Checker(config, log);
  const sampled: string[] = [];
  const seriesList = await checker.check(ROOT.target);
  const categories = byCategory(seriesList ?? []);
  let budget = config.sampleSeries * TRIES_PER_SAMPLE;
  // Round after round, one series from each category that still has candidates, the most populous first.
  while (sampled.length < config.sampleSeries && budget > 0 && categories.some((c) => c.length)) {
    for (const candidates of categories) {
      while (candidates.length && budget > 0 && sampled.length < config.sampleSeries) {
        const series = candidates.shift()!;
        budget -= 1;
        log.info(`sampling ${series.name ?? series.uuid}`);
        if (await sampleSeries(checker, series, config.sampleClassifications)) {
          sampled.push(series.name ?? series.uuid);
          break;
        }
      }
    }
  }
  const endpoints = checker.endpoints;
  const drift = LABELS.some((l) => endpoints[l].drifted > 0);
  const reasons = LABELS.flatMap((l) => [
    ...(endpoints[l].errors
      ? [`${l}: ${count(endpoints[l].errors, 'request')} could not be fetched (see the warnings)`]
      : []),
    ...(!endpoints[l].checked && !endpoints[l].errors
      ? [
          `${l}: not reached (${sampled.length ? 'the sampled series have no' : 'no series with'} ` +
            `${l === 'classification' ? 'sessions with results' : 'seasons'}` +
            `${seriesList ? '' : ': the series list could not be read'})`,
        ]
      : []),
  ]);
  if (sampled.length < config.sampleSeries) {
    // Without the series list no series was tried: saying they list no season would be untrue.
    const why = seriesList ? 'the other series tried list no season with results' : 'the series list could not be read';
    reasons.push(`${sampled.length} of ${config.sampleSeries} series sampled: ${why}`);
  }
  const incomplete = LABELS.some((l) => endpoints[l].errors > 0 || endpoints[l].checked === 0);
  return {
    baseUrl: config.baseUrl,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    series: sampled,
    endpoints,
    outcome: drift ? 'drift' : incomplete ? 'incomplete' : 'match',
    notes: reasons,
  };
}

/**
 * The series by category, the most populous category first (so the sample spans single seaters, sportscars, rallies…).
 */
function byCategory(series: readonly SeriesItem[]): SeriesItem[][] {
  const groups = new Map<string, SeriesItem[]>();
  for (const s of series) groups.set(s.category ?? '', [...(groups.get(s.category ?? '') ?? []), s]);
  return [...groups.values()].sort((a, b) => b.length - a.length);
}

/**
 * Checks a series' seasons, the calendar of its latest season with results, and its latest
 * classifications: the crawl tree's own edges (tree.ts), sampled.
 */
async function sampleSeries(checker: Checker, series: SeriesItem, classifications: number): Promise<boolean> {
  const [seasonList] = follow(seasonsEdge, [series], WHOLE_TREE, ROOT.meta);
  if (!seasonList) return false;
  const seasons = await checker.check(seasonList.target);
  const latest = [...(seasons ?? [])].sort((a, b) => (b.year ?? 0) - (a.year ?? 0)).slice(0, SEASONS_TRIED);
  for (const season of follow(calendarEdge, latest, WHOLE_TREE, seasonList.meta)) {
    const calendar = await checker.check(season.target);
    const withResults = calendar ? follow(classificationEdge, sessionNodes(calendar), WHOLE_TREE, season.meta) : [];
    if (!withResults.length && classifications > 0) continue;
    const latestResults = classifications ? withResults.slice(-classifications) : [];
    for (const session of latestResults) await checker.check(session.target);
    return true;
  }
  return false;
}

/** Fetches and validates payloads, keeping the tally per endpoint. */
class Checker {
  readonly endpoints = recordOf(
    LABELS,
    (): EndpointCheck => ({ checked: 0, matched: 0, drifted: 0, errors: 0, problems: [] }),
  );
  private readonly client: NetworkClient;

  constructor(
    private readonly config: CanaryConfig,
    private readonly log: Logger,
  ) {
    const gate = new Gate({ concurrency: config.concurrency, maxRpm: config.maxRpm, log });
    this.client = new NetworkClient({
      gate,
      timeoutMs: config.requestTimeoutSecs * 1000,
      maxBodyBytes: config.maxBodyBytes,
    });
  }

  /** The payload (without quarantined items) to walk on, or undefined when there is none. */
  async check<L extends Label>(target: ApiTarget & { label: L }): Promise<PayloadByLabel[L] | undefined> {
    const url = this.config.baseUrl + apiPath(target);
    const tally = this.endpoints[target.label];
    let body: Buffer;
    try {
      body = await this.fetch(url);
    } catch (error) {
      if (error instanceof PayloadError) {
        // A body refused before decoding (too large) was served: it is checked, and it drifted.
        tally.checked += 1;
        this.drifted(target.label, url, [error.reason]);
      } else {
        tally.errors += 1;
        this.log.warn(`could not fetch ${url}: ${describeError(error)}`);
      }
      return undefined;
    }
    tally.checked += 1;
    try {
      const { payload, quarantined } = validatePayload(target.label, decodeJson(body));
      checkNamedParent(target.label, payload, target.uuid);
      if (quarantined.length)
        this.drifted(
          target.label,
          url,
          quarantined.flatMap((item) => item.problems.map(formatProblem)),
        );
      else tally.matched += 1;
      return payload;
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      this.drifted(target.label, url, error.problems.length ? error.problems.map(formatProblem) : [error.reason]);
      return undefined;
    }
  }

  private drifted(label: Label, url: string, problems: readonly string[]): void {
    const tally = this.endpoints[label];
    tally.drifted += 1;
    this.log.warn(
      `drift in ${url}: ` +
        `${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`,
    );
    for (const text of problems) {
      const problem = text.replace(/\/\d+(?=\/|\s|$)/g, '/*');
      const seen = tally.problems.find((p) => p.problem === problem);
      if (seen) seen.count += 1;
      else if (tally.problems.length < PROBLEMS_KEPT) tally.problems.push({ problem, count: 1, url });
    }
  }

  /** The body, retrying what is worth retrying (5xx, 429, network failures) with exponential backoff. */
  private async fetch(url: string): Promise<Buffer> {
    const { body } = await withRetries(() => this.client.sendRequest({ url, method: 'GET', responseType: 'buffer' }), {
      retries: this.config.maxRetries,
      baseMs: this.config.retryBaseMs,
      retryable: (error) => !(error instanceof NonRetryableError),
      onRetry: (error, delay) => this.log.debug(`retrying ${url} in ${Math.round(delay)} ms: ${describeError(error)}`),
    });
    return body;
  }
}

export function formatCanary(report: CanaryReport): string {
  const verdict = {
    match: 'the API matches schemas/',
    drift: 'DRIFT: the API no longer matches schemas/',
    incomplete: 'INCOMPLETE: no drift seen, but not everything could be checked',
  }[report.outcome];
  const lines = [
    `Canary of ${report.baseUrl} in ${report.seconds.toFixed(1)} s, sampling ` +
      `${report.series.length ? report.series.join(', ') : 'no series'}: ${verdict}`,
    '',
    formatTable(
      ['endpoint', 'checked', 'match', 'drift', 'errors', 'verdict'],
      LABELS.map((l) => {
        const e = report.endpoints[l];
        return [
          l,
          e.checked,
          e.matched,
          e.drifted,
          e.errors,
          e.drifted ? 'DRIFT' : !e.checked ? 'unchecked' : e.errors ? 'partly checked' : 'ok',
        ];
      }),
    ),
  ];
  for (const note of report.notes) lines.push(`  ${note}`);
  for (const label of LABELS) {
    for (const p of report.endpoints[label].problems)
      lines.push(`  ${label}: ${p.problem} (${p.count}×, e.g. ${p.url})`);
  }
  return lines.join('\n');
}

// ─── The `canary` command: no storage dir, no database, so no --storage or --db ───

export const CANARY_OPTIONS = {
  ...LOGGING_OPTIONS,
  ...API_OPTIONS,
  'sample-series': wholeNumberOption('Series to sample, from as many categories as there are', {
    defaultDescription: String(DEFAULTS.sampleSeries),
  }),
  'sample-classifications': wholeNumberOption('Latest classifications checked per sampled series', {
    defaultDescription: String(DEFAULTS.sampleClassifications),
  }),
} as const satisfies Record<string, Options>;

export interface CanaryArgs extends LoggingArgs, ApiArgs {
  readonly sampleSeries?: number | string;
  readonly sampleClassifications?: number | string;
}

export function resolveCanaryConfig(args: CanaryArgs, env: Env): CanaryConfig {
  return Object.freeze({
    ...resolveLogging(args, env),
    ...resolveApi(args, env),
    sampleSeries: wholeNumber({ value: args.sampleSeries, name: '--sample-series' }, 1, 100) ?? DEFAULTS.sampleSeries,
    sampleClassifications:
      wholeNumber({ value: args.sampleClassifications, name: '--sample-classifications' }, 0, 100) ??
      DEFAULTS.sampleClassifications,
    concurrency: DEFAULTS.concurrency,
    maxRetries: DEFAULTS.canaryRetries,
    retryBaseMs: DEFAULTS.retryBaseMs,
    requestTimeoutSecs: DEFAULTS.requestTimeoutSecs,
    maxBodyBytes: DEFAULTS.maxBodyBytes,
  });
}

export const canaryCommand: CommandModule<CanaryArgs> = {
  command: 'canary',
  describe:
    'Check a small sample of the live API against schemas/, with ' +
    'no cache and no database: exit 0 match, 2 drift, 1 incomplete',
  options: CANARY_OPTIONS,
  builder: (y) => y.options(CANARY_OPTIONS),
  handler: async (args, io) => {
    const config = resolveCanaryConfig(args, io.env);
    const report = await runCanary(config, { log: commandLogger(config, io) });
    printResult(io, config.logFormat, report, () => formatCanary(report));
    return canaryExitCode(report.outcome);
  },
};
