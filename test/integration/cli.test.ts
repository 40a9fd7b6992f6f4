import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, TSBUILD, run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

/** A temp dir holding `ctx/`, a context whose Dockerfile builds without a registry (FROM scratch); the caller removes it. */
async function scratchContext(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-cli-'));
  await mkdir(join(dir, 'ctx'));
  await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
  await writeFile(join(dir, 'ctx', 'f'), 'f\n');
  return dir;
}

/** Runs `bin/tsbuild ARGS` in `cwd` with `input` on its stdin. */
function withStdin(args: string[], input: string, cwd: string): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(TSBUILD, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('the tsbuild command', () => {
  it('prints the package version with --version', async () => {
    const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await tsbuild(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(pkg.version);
  });

  it('ends with 141, a closed pipe\'s status, without a stack trace, when the reader of its output goes away', async () => {
    // `tsbuild --help | head -1`: from the startup snapshot, from the ESM launcher, and the --version script.
    const cases: [string[], NodeJS.ProcessEnv][] = [[['--help'], {}], [['--help'], { TSBUILD_SNAPSHOT: '0' }], [['--version'], {}]];
    for (const [args, env] of cases) {
      const child = spawn(TSBUILD, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      child.stdout.destroy();   // gone before the command writes: it takes tens of ms to start
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(code, `${args.join(' ')} ${JSON.stringify(env)}: ${stderr}`).to.equal(141);
      expect(stderr).to.equal('');
    }
  });

  it('refuses an empty --root, or one that is a file, by name (exit 2), for every command that opens it', async () => {
    for (const command of [['du'], ['history', 'ls'], ['report'], ['prune', '-f'], ['build', '.']]) {
      const empty = await tsbuild(['--root', '', ...command]);
      expect(empty.code, `${command.join(' ')}: ${empty.stderr}`).to.equal(2);
      expect(empty.stderr).to.contain('ERROR: --root is empty');
      const file = await tsbuild(['--root', '/etc/hostname', ...command]);
      expect(file.code, `${command.join(' ')}: ${file.stderr}`).to.equal(2);
      expect(file.stderr).to.contain('ERROR: --root /etc/hostname is not a directory');
      expect(file.stderr).not.to.match(/\n\s+at /);
    }
  });

  it('documents the buildx flags and examples in build --help', async () => {
    const r = await tsbuild(['build', '--help']);
    expect(r.code).to.equal(0);
    for (const flag of ['--tag', '--file', '--target', '--build-arg', '--push', '--output', '--progress', '--no-cache', '--root', '--metadata-file', '--secret']) {
      expect(r.stdout).to.contain(flag);
    }
  });

  it('exits 2 with a hint on an unknown output type, before building anything', async () => {
    const r = await tsbuild(['build', '-o', 'type=floppy', '--root', '/tmp/tsbuild-cli-unused', '.']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('unknown output type').and.to.contain('hint:');
  });

  it('reads -o as buildx\'s ExportEntry does: one unquoted field is a directory (dest=out too), others key=value fields, -o "" no output', async () => {
    const dir = await scratchContext();
    try {
      const build = (output: string): Promise<CliResult> =>
        tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '-o', output, 'ctx'], { cwd: dir });
      // A value of several fields is key=value, every one ("invalid value …"); a quoted single field is no directory.
      for (const [output, field] of [[',,,', ''], ['out,', 'out'], ['a,b', 'a'], ['type=local,,dest=o', ''], ['"out"', 'out']] as const) {
        const r = await build(output);
        expect(r.code, `${output}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.contain(`ERROR: -o ${JSON.stringify(output)}: invalid value ${JSON.stringify(field)}`).and.to.contain('hint:');
      }
      const open = await build('type=local,"dest=o');
      expect(open.code, open.stderr).to.equal(2);
      expect(open.stderr).to.contain('ERROR: -o "type=local,\\"dest=o": parse error on line 1, column 13: extraneous or missing " in quoted-field');
      const untyped = await build('name=x,push=true');
      expect(untyped.code, untyped.stderr).to.equal(2);
      expect(untyped.stderr).to.contain('ERROR: -o "name=x,push=true": type= is missing');
      // CreateExports: a directory exporter needs a dest, and not stdout.
      for (const [output, error] of [['type=local', 'dest is required for local exporter'], ['type=local,dest=-', 'dest cannot be stdout for local exporter']] as const) {
        const r = await build(output);
        expect(r.code, `${output}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.contain(`ERROR: -o ${output}: ${error}`);
      }
      // ParseExports skips an empty -o: the build runs with no output (it exported its files into the cwd).
      const empty = await build('');
      expect(empty.code, empty.stderr).to.equal(0);
      expect((await readdir(dir)).sort()).to.deep.equal(['ctx', 'root']);
      // `-o dest=out` is the directory `dest=out`, as buildx writes it; `-o type=tar` without dest= is a tar on stdout.
      const named = await build('dest=out');
      expect(named.code, named.stderr).to.equal(0);
      expect((await readdir(dir)).sort()).to.deep.equal(['ctx', 'dest=out', 'root']);
      expect(await readFile(join(dir, 'dest=out', 'f'), 'utf8')).to.equal('f\n');
      const tar = await build('type=tar');
      expect(tar.code, tar.stderr).to.equal(0);
      expect(tar.stdout.slice(0, 2)).to.equal('f\0');   // the tar's first header: the file f
      expect((await readdir(dir)).sort()).to.deep.equal(['ctx', 'dest=out', 'root']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes one output at most to stdout, and refuses a terminal there, as buildx\'s CreateExports does (exit 2)', async () => {
    const dir = await scratchContext();
    try {
      const args = ['build', '--root', join(dir, 'root'), '--progress', 'plain'];
      const two = await tsbuild([...args, '-o', 'type=tar', '-o', '-', 'ctx'], { cwd: dir });
      expect(two.code, two.stderr).to.equal(2);
      expect(two.stderr).to.contain('ERROR: multiple outputs configured to write to stdout');
      // On a terminal (script(1) gives the command one): a tar there is noise, so it is refused before anything runs.
      const quote = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`;
      const tty = await run('script', ['-qec', [TSBUILD, ...args, '-o', 'type=tar', 'ctx'].map(quote).join(' '), '/dev/null'], { cwd: dir });
      expect(tty.code, tty.stdout).to.equal(2);
      expect(tty.stdout).to.contain('ERROR: dest file is required for tar exporter. refusing to write to console');
      expect(tty.stdout).not.to.contain('#1 ');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an attestation flag buildx refuses (disabled= not a boolean, a lone non-boolean) by name, before building (exit 2)', async () => {
    const dir = await scratchContext();
    try {
      const cases: [string[], string][] = [
        [['--attest', 'type=provenance,disabled=maybe'], 'ERROR: --attest "type=provenance,disabled=maybe": invalid value disabled=maybe'],
        [['--attest', 'type=sbom,disabled=yes'], 'ERROR: --attest "type=sbom,disabled=yes": invalid value disabled=yes'],
        [['--provenance', 'none'], 'ERROR: --provenance "none": "none" is not key=value'],
        [['--sbom', 'on'], 'ERROR: --sbom "on": "on" is not key=value'],
        [['--provenance', 'mode=bogus'], 'ERROR: --provenance "mode=bogus": mode must be min or max'],
      ];
      for (const [flags, error] of cases) {
        const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ...flags, 'ctx'], { cwd: dir });
        expect(r.code, `${flags.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.contain(error).and.to.contain('hint:');
        expect(r.stderr).not.to.contain('#1 ');   // nothing started
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a --progress or $BUILDKIT_PROGRESS that names no mode, as buildx does, before building or reading a bake file (ERROR:, exit 2)', async () => {
    const dir = await scratchContext();
    try {
      await writeFile(join(dir, 'docker-bake.hcl'), 'target "default" {\n  context = "ctx"\n}\n');
      // progressui.NewDisplay's words, on the line every other usage error has (it was commander's lowercase `error:`).
      // bake passes its --progress on as it is (commands/bake.go): build's `none` is no mode there.
      for (const [args, mode] of [[['build', '--progress', 'bogus', 'ctx'], 'bogus'], [['bake', '--progress', 'bogus', '--print'], 'bogus'], [['bake', '--progress', 'none', '--print'], 'none']] as const) {
        const r = await tsbuild([args[0], '--root', join(dir, 'root'), ...args.slice(1)], { cwd: dir });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.match(new RegExp(`^ERROR: invalid progress mode ${mode}\\nhint: `));
        expect(r.stdout).to.equal('');
      }
      // tty on a stderr that is a pipe, given or from the variable: NewDisplay's "failed to get console", nothing built.
      for (const [args, env] of [[['build', '--progress', 'tty', 'ctx'], {}], [['build', 'ctx'], { BUILDKIT_PROGRESS: 'tty' }], [['bake', '--progress', 'tty', '--print'], {}]] as const) {
        const r = await tsbuild([args[0], '--root', join(dir, 'root'), ...args.slice(1)], { cwd: dir, env });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.match(/^ERROR: failed to get console: provided file is not a console\nhint: /);
        expect(r.stdout).to.equal('');
      }
      // NewPrinter passes the variable on untranslated: `none` (a --progress value only) is no display mode.
      for (const [args, value] of [[['build', 'ctx'], 'bogus'], [['build', 'ctx'], 'none'], [['build', '--progress', 'auto', 'ctx'], 'PLAIN'], [['bake', '--print'], 'bogus']] as const) {
        const r = await tsbuild([args[0], '--root', join(dir, 'root'), ...args.slice(1)], { cwd: dir, env: { BUILDKIT_PROGRESS: value } });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.contain(`ERROR: invalid progress mode "${value}" in $BUILDKIT_PROGRESS`).and.to.contain('hint:');
        expect(r.stdout).to.equal('');
      }
      // -q and an explicit --progress do not read it, as in buildx.
      const quiet = await tsbuild(['build', '--root', join(dir, 'root'), '-q', 'ctx'], { cwd: dir, env: { BUILDKIT_PROGRESS: 'bogus' } });
      expect(quiet.code, quiet.stderr).to.equal(0);
      expect(quiet.stdout).to.match(/^sha256:[0-9a-f]{64}\n$/);
      // BUILDKIT_PROGRESS=quiet is the quiet display only: the image ID is printed for -q / --progress quiet.
      const display = await tsbuild(['build', '--root', join(dir, 'root'), 'ctx'], { cwd: dir, env: { BUILDKIT_PROGRESS: 'quiet' } });
      expect(display.code, display.stderr).to.equal(0);
      expect(display.stdout).to.equal('');
      expect(display.stderr).to.equal('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints commander\'s own usage errors on an ERROR: line too (exit 2)', async () => {
    const r = await tsbuild(['build', '--bogus', '.']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^ERROR: unknown option '--bogus'\nusage: tsbuild build /);
  });

  it('takes -D/--debug on every command, before or after its name, as buildx\'s persistent flag (ls, inspect, version, history ls)', async () => {
    const dir = await scratchContext();
    try {
      for (const args of [['-D', 'ls'], ['inspect', '--debug'], ['version', '-D'], ['history', 'ls', '-D'], ['--debug', 'du']]) {
        const r = await tsbuild(['--root', join(dir, 'root'), ...args]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a --secret file or --ssh socket that is not there alike, as usage errors before anything starts (exit 2); an unset --secret variable only warns', async () => {
    const dir = await scratchContext();
    try {
      const cases: [string[], string][] = [
        [['--secret', `id=x,src=${join(dir, 'missing')}`], `ERROR: --secret id=x,src=${join(dir, 'missing')}: ${join(dir, 'missing')} is not a file`],
        [['--ssh', `default=${join(dir, 'missing.sock')}`], `ERROR: --ssh default=${join(dir, 'missing.sock')}: ${join(dir, 'missing.sock')} does not exist`],
      ];
      for (const [flags, error] of cases) {
        const r = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', ...flags, 'ctx'], { cwd: dir });
        expect(r.code, `${flags.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr).to.contain(error).and.to.contain('hint:');
        expect(r.stderr).not.to.contain('failed to solve');
      }
      // An unset variable is not: BuildKit asks for it only when a step mounts it, so the build goes on without it
      // (a fork's pull request in CI gets no repository secrets).
      const unset = await tsbuild(['build', '--root', join(dir, 'root'), '--progress', 'plain', '--secret', 'id=x,env=TSBUILD_TEST_UNSET_SECRET', 'ctx'], { cwd: dir });
      expect(unset.code, unset.stderr).to.equal(0);
      expect(unset.stderr).to.contain('warning: --secret id=x,env=TSBUILD_TEST_UNSET_SECRET: environment variable TSBUILD_TEST_UNSET_SECRET is not set; the build has no secret "x"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a Dockerfile read from stdin `Dockerfile` in errors and warnings, as BuildKit does, never CONTEXT/Dockerfile', async () => {
    const dir = await scratchContext();   // ctx/Dockerfile is another file, which a message must not point at
    try {
      const build = (args: string[], input: string): Promise<CliResult> => withStdin(['build', '--root', join(dir, 'root'), '--progress', 'plain', ...args], input, dir);
      const syntax = await build(['-f', '-', 'ctx'], 'FROM scratch\nCOPPY f /f\n');
      expect(syntax.code, syntax.stderr).to.equal(1);
      expect(syntax.stderr).to.contain('ERROR: failed to solve: Dockerfile:2:1: unknown instruction "COPPY"').and.to.contain('2 | COPPY f /f');
      const step = await build(['-f', '-', 'ctx'], 'FROM scratch AS Foo\nCOPY nope /x\n');
      expect(step.code, step.stderr).to.equal(1);
      expect(step.stderr).to.match(/^#- Dockerfile:1: warning: StageNameCasing/m);
      expect(step.stderr).to.contain('ERROR: failed to solve: Dockerfile:2: "nope" not found in build context');
      for (const r of [syntax, step]) expect(r.stderr).not.to.contain('ctx/Dockerfile');
      // The context `-` holding a Dockerfile: BuildKit's name too (it was `-:2:1`).
      const context = await build(['-'], 'FROM scratch\nCOPPY f /f\n');
      expect(context.stderr).to.contain('ERROR: failed to solve: Dockerfile:2:1: unknown instruction "COPPY"');
      // --check -f - reads stdin (it read the file CONTEXT/-) and names it `stdin`, as buildx's lint output does.
      const check = await withStdin(['build', '--root', join(dir, 'root'), '--check', '-f', '-', 'ctx'], 'FROM scratch AS Foo\nCOPY f /f\n', dir);
      expect(check.code, check.stderr).to.equal(1);
      expect(check.stdout).to.contain('StageNameCasing').and.to.contain('stdin:1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('applies no CONTEXT/Dockerfile.dockerignore to a Dockerfile from stdin, only the context\'s .dockerignore, as BuildKit', async () => {
    const dir = await scratchContext();
    try {
      await writeFile(join(dir, 'ctx', 'Dockerfile.dockerignore'), 'f\n');
      const args = ['build', '--root', join(dir, 'root'), '--progress', 'plain', '-o', 'type=local,dest=out'];
      // The file it belongs to: f is excluded, so the COPY fails.
      const own = await tsbuild([...args, '-f', 'ctx/Dockerfile', 'ctx'], { cwd: dir });
      expect(own.code, own.stderr).to.equal(1);
      expect(own.stderr).to.contain('"f" not found in build context');
      const stdin = await withStdin([...args, '-f', '-', 'ctx'], 'FROM scratch\nCOPY f /f\n', dir);
      expect(stdin.code, stdin.stderr).to.equal(0);
      expect(await readFile(join(dir, 'out', 'f'), 'utf8')).to.equal('f\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses --push without a name', async () => {
    const r = await tsbuild(['build', '--push', '--root', '/tmp/tsbuild-cli-unused', '.']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--push needs an image name');
  });

  it('runs from any directory through a symlink, finding its own Node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-link-'));
    try {
      await symlink(TSBUILD, join(dir, 'tsbuild'));
      const r = await run(join(dir, 'tsbuild'), ['--version'], { cwd: '/', env: { PATH: '/usr/bin:/bin' } });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.trim()).to.match(/^\d+\.\d+\.\d+$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('completes subcommands and flags in bash from the real command table', async () => {
    const script = (await tsbuild(['completion', 'bash'])).stdout;
    const complete = async (words: string[]): Promise<string> => {
      const cmd = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tsbuild; echo "\${COMPREPLY[@]}"`;
      return (await run('bash', ['-c', cmd])).stdout.trim();
    };
    expect(await complete(['tsbuild', 'bu'])).to.equal('build');
    expect(await complete(['tsbuild', 'build', '--no-cache'])).to.equal('--no-cache --no-cache-filter');
    expect((await complete(['tsbuild', 'artifact', ''])).split(' ')).to.include.members(['push', 'pull', 'attach', 'discover']);
  });
});
