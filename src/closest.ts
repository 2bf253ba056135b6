/** "Did you mean …?": the candidates nearest to what was typed, for flag typos and --series values. */

/** Levenshtein distance, case-insensitive. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}

/**
 * Up to `count` candidates closest to `typed`, nearest first. With `typosOnly`, only those close
 * enough to be a plausible typo (at most a third of the longer text changed, or 2 characters).
 */
export function closest(typed: string, candidates: Iterable<string>, { count = 3, typosOnly = false } = {}): string[] {
  const plausible = (candidate: string, distance: number) =>
    !typosOnly || distance <= Math.max(2, Math.ceil(Math.max(typed.length, candidate.length) / 3));
  return [...new Set(candidates)]
    .map((candidate) => ({ candidate, distance: editDistance(typed, candidate) }))
    .filter(({ candidate, distance }) => plausible(candidate, distance))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, count)
    .map(({ candidate }) => candidate);
}
