/**
 * `npm run lint`, after Biome: every line of the tracked TypeScript within 120 columns. Biome wraps code
 * at that width but leaves long strings, template literals and comments as written; this catches those.
 * Lists each longer line as file:line (columns) and exits 1.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX_COLUMNS = 120;
/** Generated from schemas/ (npm run gen:types) and recorded API bodies: not written by hand. */
const EXCLUDED = [/^src\/api\/payloads\.generated\.ts$/, /^test\/replica\/fixtures\//];

const files = execFileSync('git', ['ls-files', '-z', '*.ts'], { encoding: 'utf8' })
  .split('\0')
  .filter((file) => file && !EXCLUDED.some((pattern) => pattern.test(file)));

const long: string[] = [];
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      // why: columns are characters, not UTF-16 units ('…', '×' and '≤' count once).
      const columns = [...line].length;
      if (columns > MAX_COLUMNS) long.push(`${file}:${i + 1} (${columns} columns)`);
    });
}

if (long.length) {
  process.stderr.write(`${long.length} line(s) over ${MAX_COLUMNS} columns:\n${long.join('\n')}\n`);
  process.exit(1);
}
