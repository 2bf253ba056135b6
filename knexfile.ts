/**
 * For the knex CLI (`npm run knex -- migrate:status`): the same connection logic and the same
 * migration list as `motorsport-crawler migrate`.
 */
import { mkdirSync } from 'node:fs';
import { resolveCommonConfig } from './src/config.js';
import { knexConfig } from './src/store/db.js';
import { migrationSource } from './src/store/migrate.js';

const config = resolveCommonConfig({}, process.env);
if (config.db.kind === 'embedded') mkdirSync(config.db.dir, { recursive: true });

export default { ...knexConfig(config.db), migrations: { migrationSource } };
