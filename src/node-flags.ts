/** Whether node was started with a flag: on its command line or in NODE_OPTIONS (`_` and `-` alike). */
export function nodeWasGiven(flag: RegExp): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((arg) =>
    flag.test(arg.replaceAll('_', '-')),
  );
}
