import { expect } from 'chai';
import { buildProgram, explicitBooleans, normalizeArgv } from './cli.js';

describe('normalizeArgv', () => {
  const cases: [string[], string[]][] = [
    [['--push', 'localhost:5000/app:1'], ['build', '-t', 'localhost:5000/app:1', '--push']],
    [['--push', 'localhost:5000/app:1', 'ctx'], ['build', '-t', 'localhost:5000/app:1', '--push', 'ctx']],
    [['--push', 'registry.example.com/team/app', '.'], ['build', '-t', 'registry.example.com/team/app', '--push', '.']],
    [['-t', 'a:1', '--push', '.'], ['build', '-t', 'a:1', '--push', '.']],
    [['--push', './ctx', '-t', 'r/a:1'], ['build', '--push', './ctx', '-t', 'r/a:1']],
    [['build', '--push', '-t', 'a/b:1', '.'], ['build', '--push', '-t', 'a/b:1', '.']],
    [['-D', 'build', '.'], ['build', '--debug', '.']],
    [['build', '-D', '-t', 'a:1', '.'], ['build', '--debug', '-t', 'a:1', '.']],
    [['-D', '--root', '/r', '--push', 'localhost:5000/app:1', '.'], ['build', '-t', 'localhost:5000/app:1', '--push', '.', '--debug', '--root', '/r']],
    [['build', '.', '--', '-D'], ['build', '.', '--', '-D']],
    [['b', '-t', 'a:1', '.'], ['build', '-t', 'a:1', '.']],
    [['--root', '/r', 'b', '.'], ['build', '.', '--root', '/r']],
    [['--help'], ['--help']],
    [['--version'], ['--version']],
    [[], []],
    [['--root', '/r'], []],
    [['--builder', 'b1', '--root', '/r'], []],
  ];
  for (const [input, want] of cases) {
    it(`reads \`tsbuild ${input.join(' ')}\` as \`tsbuild ${want.join(' ')}\``, () => expect(normalizeArgv(input)).to.deep.equal(want));
  }
});

describe('explicitBooleans', () => {
  it('reads buildx\'s --flag=true / --flag=false for the command\'s boolean options only', async () => {
    const program = await buildProgram(new AbortController().signal, ['build']);
    expect(explicitBooleans(program, ['build', '--push=true', '--no-cache=false', '--load=0', '--pull=TRUE', '--provenance=false', '-t', 'x', '.']))
      .to.deep.equal(['build', '--push', '--pull', '--provenance=false', '-t', 'x', '.']);
    expect(explicitBooleans(program, ['build', '--push=maybe', '.']), 'left to commander, which names it').to.deep.equal(['build', '--push=maybe', '.']);
  });
});
