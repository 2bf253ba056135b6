/** Runs the command line in this process (src/cli.ts's main), capturing stdout and stderr. */
import { main } from '../../src/cli.js';

export interface InProcessRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stderr split into lines (no trailing empty one). */
  readonly lines: string[];
}

export async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<InProcessRun> {
  let stdout = '';
  const lines: string[] = [];
  const code = await main(args, {
    env,
    out: (text) => (stdout += `${text}\n`),
    err: (line) => lines.push(...line.split('\n')),
  });
  return { code, stdout, stderr: lines.join('\n'), lines };
}
