/** Counts in messages for people: "1 request", "3 requests", never "1 request(s)". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
