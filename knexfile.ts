/**
 * For the knex CLI (`npx knex --knexfile knexfile.ts migrate:status`): the same connection logic
 * and the same migration list as `motorsport-crawler migrate`.
 */
import { resolveCommonConfig } from './src/config.js';
import { knexConfig } from './src/store/db.js';
import { migrationSource } from './src/store/migrate.js';

const config = resolveCommonConfig({}, process.env);

export default { ...knexConfig(config.db), migrations: { migrationSource } };
