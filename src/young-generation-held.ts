/**
 * Imported first by cli.ts, before any other module is loaded: stops the young generation's growth
 * (see young-generation.ts). A module of its own so that importing young-generation.ts for its
 * functions (a test, commands/crawl.ts in a test's process) changes nothing.
 */
import { stopYoungGenerationGrowth } from './young-generation.js';

stopYoungGenerationGrowth();
