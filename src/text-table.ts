/**
 * Aligned plain-text tables for command output (the crawl summary, export, status, changes,
 * canary): the first column left-aligned, numbers right-aligned (and estimates, written `~N`).
 */
export type Cell = string | number;

export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  const numeric = header.map(
    (_, i) => i > 0 && rows.every((row) => typeof row[i] === 'number' || /^~\d+$/.test(String(row[i]))),
  );
  return cells
    .map((row) =>
      row
        .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
