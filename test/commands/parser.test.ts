/**
 * The command line in-process (src/cli.ts's parser, no child process): what --help lists, and
 * every mistake a user makes caught as one line naming the flag or variable, exit 1, before
 * anything is read, written or fetched.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCommands } from '../../src/cli.js';
import { resolveCrawlConfig } from '../../src/commands/crawl.js';
import { resolveChangesConfig } from '../../src/commands/changes.js';
import { cli } from '../support/inprocess.js';

const COMMANDS = await loadCommands();

/** The long flags a --help text lists, in order. */
function flagsIn(help: string): string[] {
  return [...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

describe('--help', () => {
  it.each(COMMANDS.map((c) => c.command))('%s --help lists exactly the flags the command takes', async (name) => {
    const command = COMMANDS.find((c) => c.command === name)!;
    const { code, stdout, stderr } = await cli([name, '--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^motorsport-crawler ${name}\\b`));
    expect(flagsIn(stdout).sort()).toEqual(
      [...Object.keys(command.options).map((f) => `--${f}`), '--help', '--version'].sort(),
    );
    for (const flag of ['--log-format', '--quiet', '--verbose']) expect(stdout).toContain(flag);
  });

  it('canary neither lists nor accepts --storage and --db, which it would ignore', async () => {
    const help = await cli(['canary', '--help']);
    expect(help.stdout).not.toMatch(/--storage|--db/);
    const run = await cli(['canary', '--storage', '/tmp/x']);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.lines).toEqual(['ERROR unknown flag --storage (see motorsport-crawler canary --help)']);
  });

  it('whole-number flags say [number] though their text reaches the resolver as typed', async () => {
    const { stdout } = await cli(['crawl', '--help']);
    expect(stdout).toMatch(/--from-year .*\[number\]/);
    expect(stdout).toMatch(/--max-requests [^\n]*\n?[^\n]*\[number\] \[default: no limit\]/);
  });
});

describe('mistakes are one line, exit 1, and name what is wrong', () => {
  const storage = mkdtempSync(path.join(os.tmpdir(), 'msc-parser-'));
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      'a --db URL missing its colon',
      ['crawl', '--db', 'postgresql//user@host/db'],
      {},
      /^ERROR --db: "postgresql\/\/user@host\/db" looks like a URL but is not a postgres:\/\/ or postgresql:\/\/ URL/,
    ],
    [
      'a --db with an @ and no scheme',
      ['migrate', '--db', 'user@host/db'],
      {},
      /^ERROR --db: "user@host\/db" looks like a URL/,
    ],
    [
      'a --db with another scheme',
      ['status', '--db', 'mysql://localhost/x'],
      {},
      /^ERROR --db: "mysql:\/\/localhost\/x" looks like a URL/,
    ],
    [
      'a --db scheme without slashes',
      ['export', '--db', 'postgres:user@host'],
      {},
      /^ERROR --db: "postgres:user@host" looks like a URL/,
    ],
    [
      'a DATABASE_URL that is not a URL',
      ['migrate'],
      { DATABASE_URL: 'not a url at all' },
      /^ERROR DATABASE_URL: "not a url at all" is not a postgres:\/\/ or postgresql:\/\/ URL/,
    ],
    [
      'a password in a bad URL is not echoed',
      ['migrate', '--db', 'postgresql//me:secret@host/db'],
      {},
      /^ERROR --db: "postgresql\/\/me:\*\*\*@host\/db"/,
    ],
    [
      'a year in words',
      ['crawl', '--from-year', 'twenty'],
      {},
      /^ERROR --from-year: "twenty" is not a whole number from 1800 to 3000$/,
    ],
    [
      'a year from the environment',
      ['export'],
      { MSC_FROM_YEAR: 'twenty' },
      /^ERROR MSC_FROM_YEAR: "twenty" is not a whole number/,
    ],
    [
      'a flag given twice',
      ['crawl', '--base-url', 'http://127.0.0.1:1', '--base-url', 'ftp://x'],
      {},
      /^ERROR --base-url given more than once \(http:\/\/127\.0\.0\.1:1, ftp:\/\/x\): give it once/,
    ],
    [
      "a --base-url that already holds the API's own path",
      ['crawl', '--base-url', 'http://127.0.0.1:1/widgets/1.0.0'],
      {},
      /^ERROR --base-url: ".+\/widgets\/1\.0\.0" includes the API's \/widgets path, .*root: http:\/\/127\.0\.0\.1:1$/,
    ],
    [
      'export --as-of in the future',
      ['export', '--as-of', '2999-01-01'],
      {},
      /^ERROR --as-of: "2999-01-01" is in the future \(it is \S+ now\)$/,
    ],
    [
      'a fraction',
      ['crawl', '--concurrency', '2.5'],
      {},
      /^ERROR --concurrency: "2\.5" is not a whole number from 1 to 1000$/,
    ],
    [
      'hex is not a whole number',
      ['crawl', '--max-requests', '0x10'],
      {},
      /^ERROR --max-requests: "0x10" is not a whole number 1 or more$/,
    ],
    [
      'a rate from the environment',
      ['canary'],
      { MSC_MAX_RPM: '-5' },
      /^ERROR MSC_MAX_RPM: "-5" is not a whole number 1 or more$/,
    ],
    [
      'a cache mode from the environment',
      ['crawl'],
      { MSC_CACHE: 'sometimes' },
      /^ERROR MSC_CACHE: "sometimes" is not one of prefer, refresh, only$/,
    ],
    [
      'a max age from the environment',
      ['crawl'],
      { MSC_MAX_AGE: 'soon' },
      /^ERROR MSC_MAX_AGE: "soon" is not a duration/,
    ],
    [
      'a base URL from the environment',
      ['canary'],
      { MSC_BASE_URL: 'ftp://x' },
      /^ERROR MSC_BASE_URL: "ftp:\/\/x" must be an http/,
    ],
    [
      'a log format from the environment',
      ['status'],
      { MSC_LOG_FORMAT: 'xml' },
      /^ERROR MSC_LOG_FORMAT: "xml" is not one of text, json$/,
    ],
    [
      'an impossible MSC_NOW',
      ['crawl', '--plan'],
      { MSC_NOW: '2026-13-01' },
      new RegExp(
        '^ERROR MSC_NOW: "2026-13-01" is not an ISO 8601 instant: give a date \\(2026-06-01, ' +
          'midnight UTC\\) or a time with Z or an offset \\(2026-06-01T12:00:00Z\\)$',
      ),
    ],
    [
      'an MSC_NOW without a zone',
      ['crawl', '--plan'],
      { MSC_NOW: '2026-06-01T12:00' },
      /^ERROR MSC_NOW: "2026-06-01T12:00" is not an ISO 8601 instant/,
    ],
    [
      'a duration in MSC_NOW',
      ['crawl', '--plan'],
      { MSC_NOW: '24h' },
      /^ERROR MSC_NOW: "24h" is not an ISO 8601 instant/,
    ],
    [
      'changes since a future date',
      ['changes', '--since', '2999-01-01'],
      {},
      /^ERROR --since: "2999-01-01" is in the future/,
    ],
    [
      'a flag typo',
      ['crawl', '--seris', 'F1'],
      {},
      /^ERROR unknown flag --seris: did you mean --series\? \(see motorsport-crawler crawl --help\)$/,
    ],
    [
      'two flag typos',
      ['export', '--form-year', '2020', '--as-off', '1d'],
      {},
      new RegExp(
        '^ERROR unknown flag --form-year: did you mean --from-year\\?; unknown flag ' +
          '--as-off: did you mean --as-of\\? \\(see motorsport-crawler export --help\\)$',
      ),
    ],
    [
      'a stray word',
      ['crawl', 'F1'],
      {},
      /^ERROR unexpected argument "F1": crawl takes flags only \(see motorsport-crawler crawl --help\)$/,
    ],
    ['an empty --series', ['export', '--series', ','], {}, /^ERROR --series: "," names no series/],
    [
      'a command typo',
      ['craw'],
      {},
      /^ERROR unknown command "craw": did you mean crawl\? \(see motorsport-crawler --help\)$/,
    ],
    [
      'no command',
      [],
      {},
      /^ERROR Name a command: crawl, migrate, export, status, changes, canary \(see motorsport-crawler --help\)$/,
    ],
    [
      'a flag without its value',
      ['crawl', '--series'],
      {},
      /^ERROR --series needs a value: only these series: uuid, shortCode or name/,
    ],
    [
      'changes --since without its value',
      ['changes', '--since'],
      {},
      new RegExp(
        '^ERROR --since needs a value: an ISO 8601 time with Z or an ' +
          'offset \\(2026-11-21T08:00:00Z\\), or a duration ago \\(24h, 7d\\)',
      ),
    ],
    ['changes without --since', ['changes'], {}, /^ERROR --since is required: an ISO 8601 time/],
    [
      'a whole-number flag without its value',
      ['crawl', '--max-requests'],
      {},
      /^ERROR --max-requests needs a value: a whole number$/,
    ],
    [
      'a choice flag without its value',
      ['crawl', '--cache'],
      {},
      /^ERROR --cache needs a value: one of prefer, refresh, only$/,
    ],
    [
      'a switch given a value',
      ['crawl', '--fresh=maybe'],
      {},
      /^ERROR --fresh is a switch and takes no value: "maybe" \(give --fresh or leave it out\)/,
    ],
    ['a bad choice', ['export', '--format', 'xml'], {}, /^ERROR --format: "xml" is not one of json, ndjson, csv$/],
    [
      "a bad --cache, said as MSC_CACHE's is",
      ['crawl', '--cache', 'sometimes'],
      {},
      /^ERROR --cache: "sometimes" is not one of prefer, refresh, only$/,
    ],
    [
      'a bad --log-format',
      ['status', '--log-format', 'xml'],
      {},
      /^ERROR --log-format: "xml" is not one of text, json$/,
    ],
  ];

  it.each(cases)('%s', async (_, args, env, message) => {
    const run = await cli(
      [...args, '--storage', storage].filter(
        (a) => !(args[0] === 'canary' && a === '--storage') && !(args[0] === 'canary' && a === storage),
      ),
      env,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.lines).toHaveLength(1);
    expect(run.lines[0]).toMatch(message);
    expect(run.lines[0]).not.toMatch(/\(see --help\).*\(see --help\)|NaN/);
    // Refused before anything was created.
    expect(readdirSync(storage)).toEqual([]);
  });

  it("with --log-format json, yargs' own errors are one JSON object too", async () => {
    for (const args of [
      ['crawl', '--seris', 'F1', '--log-format', 'json'],
      ['crawl', '--log-format=json', '--from-year', 'x'],
      ['--log-format', 'json'],
      ['crawl', '--cache', 'sometimes', '--log-format', 'json'],
    ]) {
      const run = await cli(args);
      expect(run.code).toBe(1);
      expect(run.lines).toHaveLength(1);
      expect(JSON.parse(run.lines[0]!)).toMatchObject({ level: 'error', msg: expect.any(String) });
    }
    const choice = await cli(['crawl', '--cache', 'sometimes', '--log-format', 'json']);
    expect(JSON.parse(choice.lines[0]!).msg).toBe('--cache: "sometimes" is not one of prefer, refresh, only');
    const fromEnv = await cli(['crawl', '--bogus'], { MSC_LOG_FORMAT: 'json' });
    expect(JSON.parse(fromEnv.lines[0]!).msg).toMatch(/unknown flag --bogus/);
  });

  it('a file where a folder must be names the flag (or variable), what was given and the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'msc-parser-'));
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    // Another storage dir: an --out inside the storage dir is refused for that reason first.
    const storage = mkdtempSync(path.join(os.tmpdir(), 'msc-parser-storage-'));
    const runs: [string[], Record<string, string>, string][] = [
      [['status', '--storage', file], {}, `--storage ${file} is a file, not a folder`],
      [
        ['migrate', '--storage', path.join(file, 'sub')],
        {},
        `--storage ${path.join(file, 'sub')}: ${file} is a file, not a folder`,
      ],
      [
        ['changes', '--since', '1d'],
        { CRAWLEE_STORAGE_DIR: file },
        `CRAWLEE_STORAGE_DIR ${file} is a file, not a folder`,
      ],
      [
        ['migrate', '--storage', dir, '--db', path.join(file, 'db')],
        {},
        `--db ${path.join(file, 'db')}: ${file} is a file, not a folder`,
      ],
      [
        ['export', '--storage', storage, '--out', path.join(file, 'sub')],
        {},
        `--out ${path.join(file, 'sub')}: ${file} is a file, not a folder`,
      ],
      [['export', '--storage', storage, '--out', file], {}, `--out ${file} is a file, not a folder`],
    ];
    for (const [args, env, message] of runs) {
      const run = await cli(args, env);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.lines).toEqual([`ERROR ${message}`]);
    }
    expect(readdirSync(dir)).toEqual(['a-file']);
  });

  it('an unexpected error is one line; with --verbose, the line and its stack', async () => {
    // The embedded database's lock file is a folder: nothing a user would do, nothing foreseen.
    const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'msc-parser-')), 'db');
    mkdirSync(`${db}.lock`);
    const plain = await cli(['migrate', '--db', db]);
    expect(plain.code).toBe(1);
    expect(plain.lines).toHaveLength(1);
    expect(plain.lines[0]).toMatch(
      /^ERROR .*(EISDIR|illegal operation on a directory).*\(run with --verbose for the stack trace\)$/,
    );
    const verbose = await cli(['migrate', '--db', db, '--verbose', '--log-format', 'json']);
    expect(verbose.lines).toHaveLength(1);
    expect(JSON.parse(verbose.lines[0]!)).toMatchObject({ level: 'error', stack: expect.stringMatching(/\n\s+at /) });
    const text = await cli(['migrate', '--db', db, '--verbose']);
    expect(text.lines[0]).toMatch(/^ERROR /);
    expect(text.lines[0]).not.toMatch(/run with --verbose/);
    expect(text.lines.slice(1).join('\n')).toMatch(/^ERROR \w*Error.*\n\s+at /);
  });
});

describe('config resolvers', () => {
  it('--series F1,WEC is split like MSC_SERIES', () => {
    expect(resolveCrawlConfig({ series: ['F1,WEC', ' F2 '] }, {}).scope.series).toEqual(['F1', 'WEC', 'F2']);
    expect(resolveCrawlConfig({}, { MSC_SERIES: 'F1, WEC' }).scope.series).toEqual(['F1', 'WEC']);
  });

  it('a flag wins over its variable, and the variable is named only when it is used', () => {
    expect(resolveCrawlConfig({ fromYear: '2020' }, { MSC_FROM_YEAR: 'twenty' }).scope.fromYear).toBe(2020);
    expect(() => resolveCrawlConfig({ fromYear: 'twenty' }, { MSC_FROM_YEAR: '2020' })).toThrow(
      /^--from-year: "twenty"/,
    );
  });

  it('a postgresql:// URL and a directory are both still a --db', () => {
    expect(resolveCrawlConfig({ db: 'postgresql://me@localhost:5432/x' }, {}).db).toEqual({
      kind: 'postgres',
      url: 'postgresql://me@localhost:5432/x',
    });
    expect(resolveCrawlConfig({ db: 'some dir/db' }, {}).db).toEqual({
      kind: 'embedded',
      dir: path.resolve('some dir/db'),
    });
    expect(resolveCrawlConfig({}, { DATABASE_URL: 'postgres://me@localhost/x' }).db.kind).toBe('postgres');
  });

  it('changes --since now-ish is fine, a second into the future is not', () => {
    const now = Date.UTC(2026, 10, 21, 12);
    expect(resolveChangesConfig({ since: '2026-11-21T12:00:00Z' }, {}, now).since).toBe('2026-11-21T12:00:00.000Z');
    expect(() => resolveChangesConfig({ since: '2026-11-21T12:00:01Z' }, {}, now)).toThrow(/in the future/);
  });
});
