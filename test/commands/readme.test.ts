/**
 * README.md's command reference against the parser: for each command, the flags its section's
 * tables name (plus the common tables of "## Commands") are exactly the flags --help lists.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCommands } from '../../src/cli.js';
import { cli } from '../support/inprocess.js';

const COMMANDS = await loadCommands();

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The long flags in the first column of the tables of a piece of markdown. */
function tableFlags(markdown: string): Set<string> {
  const flags = markdown
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .flatMap((line) => [...line.split('|')[1]!.matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]!));
  return new Set(flags);
}

/** The text from `## Commands` to its first command, and each command's section. */
function sections(): { common: string; byCommand: Map<string, string> } {
  const start = README.indexOf('\n## Commands\n');
  const end = README.indexOf('\n## ', start + 1);
  const [common, ...rest] = README.slice(start, end).split(/\n(?=### `)/);
  return { common: common!, byCommand: new Map(rest.map((s) => [/^### `(\w+)`/.exec(s)![1]!, s])) };
}

/** The long flags --help lists. */
async function helpFlags(command: string): Promise<Set<string>> {
  const { stdout } = await cli([command, '--help']);
  return new Set(
    [...stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)]
      .map((m) => m[1]!)
      .filter((f) => f !== '--help' && f !== '--version'),
  );
}

describe('the README command reference', () => {
  const { common, byCommand } = sections();
  // The first common table applies to every command; the second
  // to every command the sentence before it does not except.
  const [everyCommand, databaseTable] = common.split(/\nEvery command but /);
  const exceptions = new Set(
    [...(/^([^\n]*)/.exec(databaseTable ?? '')?.[1] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]!),
  );

  it('has a section for every command, and no other', () => {
    expect([...byCommand.keys()].sort()).toEqual(COMMANDS.map((c) => c.command).sort());
  });

  it.each(COMMANDS.map((c) => c.command))(
    '%s: its flags in the README are exactly those of --help',
    async (command) => {
      const documented = new Set([
        ...tableFlags(everyCommand!),
        ...(exceptions.has(command) ? [] : tableFlags(databaseTable!)),
        ...tableFlags(byCommand.get(command)!),
      ]);
      expect([...documented].sort()).toEqual([...(await helpFlags(command))].sort());
    },
  );
});
