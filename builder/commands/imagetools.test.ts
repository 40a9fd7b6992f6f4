import { expect } from 'chai';
import type { Command } from 'commander';
import { buildProgram, explicitBooleans } from '../cli.js';

describe('imagetools create --prefer-index', () => {
  /** What `tsbuild ARGS` hands create's action (sources and --prefer-index), parsed as main.ts parses it. */
  async function parse(...args: string[]): Promise<{ sources: string[]; preferIndex: unknown }> {
    const program = await buildProgram(new AbortController().signal, args);
    program.exitOverride().configureOutput({ writeErr: () => undefined });
    const create = program.commands.find((c) => c.name() === 'imagetools')?.commands.find((c) => c.name() === 'create') as Command;
    let got: { sources: string[]; preferIndex: unknown } | undefined;
    create.action((sources: string[], flags: { preferIndex: unknown }) => { got = { sources, preferIndex: flags.preferIndex }; });
    await program.parseAsync(explicitBooleans(program, args), { from: 'user' });
    if (got === undefined) throw new Error('create did not run');
    return got;
  }

  // buildx (commands/imagetools/create.go) declares it flags.BoolVar(…, "prefer-index", true, …): a pflag boolean,
  // whose bare form never takes the next word and whose value is given only as `--prefer-index=VALUE`.
  const cases: [string[], string[], boolean][] = [
    [['--prefer-index', 'r/a:1'], ['r/a:1'], true],
    [['--prefer-index', 'r/a:1', 'r/b:1'], ['r/a:1', 'r/b:1'], true],
    [['r/a:1', '--prefer-index'], ['r/a:1'], true],
    [['--prefer-index=false', 'r/a:1'], ['r/a:1'], false],
    [['--prefer-index=0', 'r/a:1'], ['r/a:1'], false],
    [['--prefer-index=true', 'r/a:1'], ['r/a:1'], true],
    [['r/a:1'], ['r/a:1'], true],
  ];
  for (const [flags, sources, preferIndex] of cases) {
    it(`reads \`imagetools create --dry-run ${flags.join(' ')}\` as sources ${sources.join(', ')}, prefer-index ${preferIndex}`, async () => {
      expect(await parse('imagetools', 'create', '--dry-run', ...flags)).to.deep.equal({ sources, preferIndex });
    });
  }

  it('refuses a value that is no Go boolean, as pflag does', async () => {
    const err = await parse('imagetools', 'create', '--dry-run', '--prefer-index=maybe', 'r/a:1').then(() => undefined, (e: unknown) => e);
    expect(err).to.have.property('code', 'INVALID_ARGUMENT');
  });
});
