/** Indexing that fails loudly instead of yielding undefined. */
export function nth<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`no item ${index} in a list of ${items.length}`);
  return item;
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
