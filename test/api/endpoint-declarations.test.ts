/**
 * An endpoint is declared by its schema, its route module (src/crawl/routes/<label>.ts: its path,
 * item lists, duplicate keys, route, its edge in the crawl tree and, for a parent, how its stored
 * nodes are read back) listed in src/crawl/routes/index.ts, and the table specs and
 * migration of the rows it writes (README, "Development"). Everything else is derived from
 * those. This fails when one of them names an endpoint or a table that another does not.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINTS, LABELS, LEAF_LABELS, TREE, type Label } from '../../src/api/endpoints.js';
import type { Route, RouteResult } from '../../src/crawl/routes/types.js';
import { ROOT, WHOLE_TREE } from '../../src/crawl/tree.js';
import { PACKAGE_ROOT, SCHEMAS_DIR } from '../../src/paths.js';
import type { Db } from '../../src/store/db.js';
import { migrationSource } from '../../src/store/migrate.js';
import { TABLES, TABLE_ORDER } from '../../src/store/tables.js';
import { createTestDatabase, openMigrated, type TestDatabase } from '../support/db.js';
import { recorded } from '../support/fixtures.js';

/** Tables the crawl keeps for itself, not rows of the API: no route writes them, no spec describes them. */
const BOOKKEEPING_TABLES = [
  'knex_migrations',
  'knex_migrations_lock',
  'applied_payloads',
  'quarantine',
  'database_identity',
  // The shared queue's own tables (--queue postgres); pg-boss keeps its jobs in a schema of its own.
  'shared_crawls',
  'shared_workers',
  'shared_leases',
  'shared_rate_limits',
];

const sorted = (names: Iterable<string>) => [...names].sort();
const filesIn = (dir: string, ext: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .map((f) => f.slice(0, -ext.length));

/** The route's results for each recorded payload of the label, over the whole tree. */
function recordedResults(label: Label): RouteResult[] {
  // why: ENDPOINTS[label] is a union over the labels; TypeScript cannot correlate its route with `label`.
  const route = ENDPOINTS[label].route as Route<Label>;
  return recorded(label).map(({ uuid, payload }) =>
    route({
      payload,
      // why: parentUuid's type depends on the label, which is only known here as the union.
      parentUuid: (label === 'series' ? undefined : uuid) as never,
      meta: { historic: false },
      scope: WHOLE_TREE,
    }),
  );
}

describe('endpoint declarations', () => {
  it('each label has a schema file, and each schema file is a label', () => {
    expect(sorted(filesIn(SCHEMAS_DIR, '.json'))).toEqual(sorted(LABELS));
  });

  it('each label has its endpoint spec under its own name, and nothing else has one', () => {
    expect(sorted(Object.keys(ENDPOINTS))).toEqual(sorted(LABELS));
    for (const label of LABELS) expect(ENDPOINTS[label].label).toBe(label);
  });

  it('each route file declares one endpoint, of its own name, and the index lists exactly those', async () => {
    const routesDir = path.join(PACKAGE_ROOT, 'src/crawl/routes');
    const routeFiles = filesIn(routesDir, '.ts').filter((f) => !['index', 'types', 'time'].includes(f));
    expect(sorted(routeFiles)).toEqual(sorted(LABELS));
    for (const file of routeFiles) {
      const module: Record<string, unknown> = await import(pathToFileURL(path.join(routesDir, `${file}.ts`)).href);
      const declared = Object.entries(module).filter(([, value]) =>
        Object.values(ENDPOINTS).some((endpoint) => endpoint === value),
      );
      const named = Object.keys(module).filter((name) => name.endsWith('Endpoint'));
      expect(named, file).toEqual([`${file}Endpoint`]);
      expect(
        declared.map(([name]) => name),
        file,
      ).toEqual([`${file}Endpoint`]);
      expect(module[`${file}Endpoint`], file).toBe(
        Object.values(ENDPOINTS).find((endpoint) => endpoint.label === file),
      );
    }
  });

  it(
    'the crawl tree has a place for each label: each is the ' +
      'root or the child of one edge, and all hang from the root',
    () => {
      expect(sorted(Object.keys(TREE))).toEqual(sorted(LABELS));
      const children = LABELS.flatMap((label) => TREE[label]?.child ?? []);
      expect(sorted(children)).toEqual(sorted(LABELS.filter((label) => label !== ROOT.target.label)));
      // From the root, the edges reach every label, in the order LABELS lists them (the order every table shows).
      const reached: Label[] = [];
      for (let label: Label | undefined = ROOT.target.label; label; label = TREE[label]?.child) reached.push(label);
      expect(reached).toEqual([...LABELS]);
      expect(sorted(LEAF_LABELS)).toEqual(sorted(LABELS.filter((label) => !TREE[label])));
    },
  );

  it(
    'each edge hangs from another label, no label has two child edges, ' +
      'and exactly the labels with a child read their stored nodes back',
    () => {
      const edges = LABELS.flatMap((label) => ENDPOINTS[label].edge ?? []);
      for (const edge of edges) {
        expect(LABELS, edge.child).toContain(edge.parent);
        expect(edge.parent, edge.child).not.toBe(edge.child);
      }
      const parents = edges.map((edge) => edge.parent);
      expect(new Set(parents).size).toBe(parents.length);
      expect(sorted(LABELS.filter((label) => ENDPOINTS[label].storedChildren))).toEqual(sorted(parents));
    },
  );

  it("each route's children are requests of its own child label, and only of it", () => {
    for (const label of LABELS) {
      const children = recordedResults(label).flatMap((result) => result.children);
      expect(sorted(new Set(children.map((child) => child.target.label))), label).toEqual(
        TREE[label] ? [TREE[label].child] : [],
      );
    }
  });

  it('the routes write every table that has a spec, and TABLE_ORDER lists each spec once', () => {
    expect(sorted(TABLE_ORDER)).toEqual(sorted(Object.keys(TABLES)));
    expect(new Set(TABLE_ORDER).size).toBe(TABLE_ORDER.length);
    for (const table of TABLE_ORDER) expect(TABLES[table].name).toBe(table);
    const written = new Set<string>();
    for (const label of LABELS)
      for (const result of recordedResults(label))
        for (const [table, rows] of Object.entries(result.rows)) if (rows?.length) written.add(table);
    expect(sorted(written)).toEqual(sorted(TABLE_ORDER));
  });

  describe('migrations', () => {
    let database: TestDatabase;
    let db: Db;
    beforeAll(async () => {
      database = await createTestDatabase('pglite');
      db = await openMigrated(database.target);
    });
    afterAll(async () => {
      await db?.destroy();
      await database?.drop();
    });

    it('migrate.ts runs each migration file, in the order of their names', async () => {
      expect(sorted(await migrationSource.getMigrations([]))).toEqual(
        sorted(filesIn(path.join(PACKAGE_ROOT, 'migrations'), '.ts')),
      );
    });

    it('the migrations create a table (and its history) for each spec, and no other row table', async () => {
      const { rows } = await db.raw<{ rows: { table_name: string }[] }>(
        `SELECT table_name FROM information_schema.tables WHERE ` +
          `table_schema = current_schema() AND table_type = 'BASE TABLE'`,
      );
      const tables = rows.map((r) => r.table_name);
      expect(sorted(tables.filter((t) => !t.endsWith('_history') && !BOOKKEEPING_TABLES.includes(t)))).toEqual(
        sorted(TABLE_ORDER),
      );
      expect(sorted(tables.filter((t) => t.endsWith('_history')))).toEqual(
        sorted(TABLE_ORDER.map((t) => `${t}_history`)),
      );
    });

    it(
      'TABLE_ORDER (the order TABLES declares) puts each ' + 'table after every table its foreign keys reference',
      async () => {
        const { rows } = await db.raw<{ rows: { child: string; parent: string }[] }>(
          `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE c.contype = 'f' AND n.nspname = current_schema()`,
        );
        const references = rows.filter(({ child }) => TABLE_ORDER.some((table) => table === child));
        expect(references.length).toBeGreaterThan(0);
        const order: readonly string[] = TABLE_ORDER;
        for (const { child, parent } of references) {
          expect(order.indexOf(parent), `${child} references ${parent}`).toBeGreaterThanOrEqual(0);
          expect(order.indexOf(parent), `${child} references ${parent}`).toBeLessThan(order.indexOf(child));
        }
      },
    );
  });
});
