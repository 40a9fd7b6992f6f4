import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsbuild } from '../fixtures/tsbuild-cli.js';

// `tsbuild debug parse`: the parse tree as JSON (default, --json) or as BuildKit's parser dump (--format dump), so a
// user can diff tsbuild's reading of a Dockerfile against BuildKit's (its parser/dumper prints the same format).
describe('tsbuild debug parse', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-debug-parse-'));
    await writeFile(join(dir, 'Dockerfile'), 'FROM alpine AS build\nENV A 1\nCOPY --from=build ["/a b", "/c"]\nONBUILD RUN echo "hi"\n');
    await writeFile(join(dir, 'Empty.Dockerfile'), '# only a comment\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints BuildKit\'s dump with --format dump', async () => {
    const r = await tsbuild(['debug', 'parse', '--format', 'dump', '-f', join(dir, 'Dockerfile')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('(from "alpine" "AS" "build")\n(env "A" "1" "")\n(copy ["--from=build"] "/a b" "/c")\n(onbuild (run "echo \\"hi\\""))\n');
  });

  it('still prints JSON by default and with --json', async () => {
    for (const args of [[], ['--json'], ['--format', 'json']]) {
      const r = await tsbuild(['debug', 'parse', ...args, '-f', join(dir, 'Dockerfile')]);
      expect(r.code, r.stderr).to.equal(0);
      const df = JSON.parse(r.stdout) as { instructions: { keyword: string }[] };
      expect(df.instructions.map((i) => i.keyword)).to.deep.equal(['FROM', 'ENV', 'COPY', 'ONBUILD']);
    }
  });

  it('refuses an unknown format', async () => {
    const r = await tsbuild(['debug', 'parse', '--format', 'sexp', '-f', join(dir, 'Dockerfile')]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('sexp');
  });

  it('points at the file with no instructions, with a hint, and no stack', async () => {
    const r = await tsbuild(['debug', 'parse', '--format', 'dump', '-f', join(dir, 'Empty.Dockerfile')]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('Empty.Dockerfile:1:1: file with no instructions').and.to.contain('hint:').and.not.to.contain('    at ');
  });
});
