import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { git, serveGitHttp, type GitHttpServer } from '../fixtures/git-http-server.js';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { packTar } from '../fixtures/pack-tar.js';
import { TSBUILD, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';
import { writeFiles } from '../fixtures/write-files.js';

// docker/buildx's own CLI integration tests, group "bake" (tests/bake.go), run against `tsbuild bake`. Each `it` is
// named after the Go test function it ports; test/compat/buildx-parity/bake.md lists every function, with what is
// ported, fixed, different or not applicable here. One registry and one root serve every case, and the builds are
// FROM scratch or small, so the file stays fast.
//
// Adaptations: `busybox` is the test registry's busybox (and `alpine:3.21` a copy of it there); buildx's
// `t.TempDir()` destinations are directories under the suite's temp dir, outside each case's working directory, as
// theirs are; `bakeCmd` is `bake --progress=quiet` with stdout and stderr read apart.

type Files = Record<string, string>;
interface Definition { group?: Record<string, { targets: string[] }>; target: Record<string, Record<string, unknown>> }

describe('buildx parity: bake (docker/buildx tests/bake.go)', function () {
  this.timeout(120_000);
  let env: BuildEnv | undefined;
  let dir = '';
  let host = '';
  let root = '';
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-pbake-');
    dir = env.dir;
    host = env.registry.host;
    root = join(dir, 'root');
    await publishBusybox(host, 'alpine', '3.21');
  });
  after(async () => {
    await env?.stop();
  });

  /** buildx's tmpdir(t, fstest.CreateFile…): a fresh working directory holding `files`. */
  const tmpdir = (files: Files = {}): Promise<string> => writeFiles(join(dir, `case${++n}`), files);
  /** buildx's t.TempDir(): an existing directory outside every case's working directory. */
  const tempDir = async (): Promise<string> => {
    const d = join(dir, `dest${++n}`);
    await mkdir(d, { recursive: true });
    return d;
  };
  /** `tsbuild bake ARGS` in `cwd`, as buildxCmd(sb, withDir(cwd), withArgs("bake", …), withEnv(…)). */
  const bake = (cwd: string, args: string[], vars: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    tsbuild(['bake', '--root', root, ...args], { cwd, env: vars });
  /** buildx's bakeCmd: `bake --progress=quiet …`. */
  const bakeCmd = (cwd: string, args: string[] = [], vars: NodeJS.ProcessEnv = {}): Promise<CliResult> => bake(cwd, ['--progress=quiet', ...args], vars);
  const ok = (r: CliResult): CliResult => {
    expect(r.code, r.stderr).to.equal(0);
    return r;
  };
  const failed = (r: CliResult): string => {
    expect(r.code, r.stderr).to.not.equal(0);
    return r.stdout + r.stderr;
  };
  /** `bake` with `input` on stdin. */
  const bakeStdin = (cwd: string, args: string[], input: string, vars: NodeJS.ProcessEnv): Promise<CliResult> => new Promise((resolve, reject) => {
    const child = spawn(TSBUILD, ['bake', '--root', root, ...args], { cwd, env: { ...process.env, ...vars }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });

  const HELLO_DOCKERFILE = 'FROM busybox\nARG HELLO\nRUN echo "Hello ${HELLO}"\n';
  const COPY_FOO = { Dockerfile: 'FROM scratch\nCOPY foo /foo\n', foo: 'foo' };

  it('testBakePrint: HCL and compose print the same definition', async () => {
    const cases: Files[] = [
      { 'docker-bake.hcl': 'target "build" {\n  args = {\n    HELLO = "foo"\n  }\n}\n' },
      { 'compose.yml': 'services:\n  build:\n    build:\n      context: .\n      args:\n        HELLO: foo\n' },
    ];
    for (const files of cases) {
      const r = ok(await bake(await tmpdir({ ...files, Dockerfile: HELLO_DOCKERFILE }), ['--print', 'build']));
      expect(JSON.parse(r.stdout)).to.deep.equal({
        group: { default: { targets: ['build'] } },
        target: { build: { context: '.', dockerfile: 'Dockerfile', args: { HELLO: 'foo' } } },
      });
    }
  });

  const helloVariable: Files[] = [
    { 'docker-bake.hcl': 'variable "HELLO" {\n  default = "fallback"\n}\n\ntarget "build" {\n  args = {\n    HELLO = HELLO\n  }\n}\n' },
    { 'compose.yml': 'services:\n  build:\n    build:\n      context: .\n      args:\n        HELLO: ${HELLO:-fallback}\n' },
  ];

  it('testBakeDisableEnvLookup: BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP=1 reads no variable from the environment', async () => {
    for (const files of helloVariable) {
      const r = ok(await bake(await tmpdir({ ...files, Dockerfile: HELLO_DOCKERFILE }), ['--print', 'build'], { BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP: '1', HELLO: 'fromenv' }));
      expect(r.stdout).to.contain('"HELLO": "fallback"').and.not.contain('fromenv');
    }
  });

  it('testBakeVarOverride: --var wins over the environment and the default', async () => {
    for (const files of helloVariable) {
      const r = ok(await bake(await tmpdir({ ...files, Dockerfile: HELLO_DOCKERFILE }), ['--print', 'build', '--var', 'HELLO=fromflag'], { HELLO: 'fromenv' }));
      expect(r.stdout).to.contain('"HELLO": "fromflag"').and.not.contain('fromenv').and.not.contain('fallback');
    }
  });

  it('testBakePrintSensitive: cache entries print as written, no credential of the environment added', async () => {
    const cases: Files[] = [
      { 'docker-bake.hcl': 'target "build" {\n  args = {\n    HELLO = "foo"\n  }\n\n  cache-from = [\n    "type=gha,token=abc",\n    "type=s3,region=us-west-2,bucket=my_bucket,name=my_image",\n  ]\n}\n' },
      { 'compose.yml': 'services:\n  build:\n    build:\n      context: .\n      args:\n        HELLO: foo\n      cache_from:\n        - type=gha,token=abc\n        - type=s3,region=us-west-2,bucket=my_bucket,name=my_image\n' },
    ];
    const secrets = {
      ACTIONS_RUNTIME_TOKEN: 'sensitive_token', ACTIONS_CACHE_URL: 'https://cache.github.com', AWS_ACCESS_KEY_ID: 'definitely_dont_look_here',
      AWS_SECRET_ACCESS_KEY: 'hackers_please_dont_steal', AWS_SESSION_TOKEN: 'not_a_mitm_attack',
    };
    for (const files of cases) {
      const r = ok(await bake(await tmpdir({ ...files, Dockerfile: HELLO_DOCKERFILE }), ['--print', 'build'], secrets));
      expect(JSON.parse(r.stdout)).to.deep.equal({
        group: { default: { targets: ['build'] } },
        target: {
          build: {
            context: '.', dockerfile: 'Dockerfile', args: { HELLO: 'foo' },
            'cache-from': [{ type: 'gha', token: 'abc' }, { type: 's3', region: 'us-west-2', bucket: 'my_bucket', name: 'my_image' }],
          },
        },
      });
    }
  });

  it('testBakePrintOverrideEmpty: --set *.cache-to= empties the list', async () => {
    const cwd = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n\tcache-to = ["type=gha,mode=min,scope=integration-tests"]\n}\n', ...COPY_FOO });
    const r = ok(await bake(cwd, ['--print', '--set', '*.cache-to=']));
    expect(JSON.parse(r.stdout)).to.deep.equal({ group: { default: { targets: ['default'] } }, target: { default: { context: '.', dockerfile: 'Dockerfile' } } });
  });

  it('testBakeSecretSourceOverride: --set T.secret.ID= replaces a declared secret\'s source, and refuses an undeclared one', async () => {
    const cwd = await tmpdir({
      'docker-bake.hcl': 'target "build" {\n\tsecret = [\n\t\t"id=aws,src=aws-default",\n\t\t"id=token,env=TOKEN",\n\t]\n}\n',
      Dockerfile: 'FROM scratch\n', 'aws-default': 'default', tokenfile: 'token',
    });
    const r = ok(await bake(cwd, ['--print', 'build', '--set', 'build.secret.aws=env=AWS_CREDENTIALS', '--set', 'build.secret.token=src=tokenfile']));
    expect((JSON.parse(r.stdout) as Definition).target.build?.secret).to.deep.equal([{ id: 'aws', env: 'AWS_CREDENTIALS' }, { id: 'token', src: 'tokenfile' }]);
    expect(failed(await bakeCmd(cwd, ['--print', 'build', '--set', 'build.secret.missing=env=MISSING']))).to.contain('secret "missing" must be declared before it can be overridden');
  });

  it('testBakePrintKeepEscaped: --print keeps $${…} and %%{…} escaped, and its output builds as a docker-bake.json', async () => {
    const cwd = await tmpdir({
      'docker-bake.hcl': [
        'target "default" {', '\tdockerfile-inline = <<EOT', 'ARG VERSION=latest', `FROM ${host}/alpine:$\${VERSION}`, 'EOT',
        '\targs = {', '\t\tVERSION = "3.21"', '\t}', '\tannotations = [', '\t\t"org.opencontainers.image.authors=$${user}"', '\t]',
        '\tlabels = {', '\t\tfoo = "hello %%{bar}"', '\t}', '}', '',
      ].join('\n'),
    });
    const r = ok(await bake(cwd, ['--print']));
    expect(JSON.parse(r.stdout)).to.deep.equal({
      group: { default: { targets: ['default'] } },
      target: {
        default: {
          annotations: ['org.opencontainers.image.authors=$${user}'], context: '.', dockerfile: 'Dockerfile',
          'dockerfile-inline': `ARG VERSION=latest\nFROM ${host}/alpine:$\${VERSION}\n`, args: { VERSION: '3.21' }, labels: { foo: 'hello %%{bar}' },
        },
      },
    });
    // The printed definition has a group "default" whose target is the target "default": buildx's Config.group takes
    // the name for the target when the group is still being expanded. The build must happen (tsbuild built nothing).
    const fromJson = await tmpdir({ 'docker-bake.json': r.stdout });
    const out = await tempDir();
    ok(await bakeCmd(fromJson, ['--set', `*.output=type=local,dest=${out}`]));
    expect(existsSync(join(out, 'bin', 'busybox')), 'the image alpine:3.21 (VERSION from args) was built').to.equal(true);
  });

  it('testBakeLocal: shows the bake files read as step #1 and builds into an existing directory --set names outside the working directory', async () => {
    const cwd = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n}\n', ...COPY_FOO });
    const dest = await tempDir();
    const r = ok(await bake(cwd, ['--progress=plain', '--set', `*.output=type=local,dest=${dest}`]));
    expect(r.stderr).to.contain('#1 [internal] load local bake definitions').and.contain('#1 reading docker-bake.hcl');
    // One log, as buildx's one session: the target's steps continue after the definitions step, never a second #1.
    const ones = r.stderr.split('\n').filter((l) => l.startsWith('#1 '));
    expect(ones.every((l) => /^#1 (\[internal\] load local bake definitions|reading |DONE )/.test(l)), r.stderr).to.equal(true);
    expect(r.stderr).to.match(/^#2 FROM scratch$/m);
    expect(existsSync(join(dest, 'foo'))).to.equal(true);
  });

  it('testBakeLocalMulti: reads compose.yaml and docker-bake.hcl together; -f cwd://FILE; bakeCmd prints nothing on stdout', async () => {
    const cwd = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n}\n', 'compose.yaml': 'services:\n  app:\n    build: {}\n', ...COPY_FOO });
    const dest = await tempDir();
    const r = ok(await bake(cwd, ['--progress=plain', '--set', `*.output=type=local,dest=${dest}`]));
    expect(r.stderr).to.contain('#1 [internal] load local bake definitions').and.contain('#1 reading compose.yaml').and.contain('#1 reading docker-bake.hcl');
    expect(existsSync(join(dest, 'foo'))).to.equal(true);
    const dest2 = await tempDir();
    const quiet = ok(await bakeCmd(cwd, ['--file', 'cwd://docker-bake.hcl', '--set', `*.output=type=local,dest=${dest2}`]));
    expect(existsSync(join(dest2, 'foo'))).to.equal(true);
    // buildx's bake has no build -q: --progress=quiet prints no image ID.
    expect(quiet.stdout).to.equal('');
    expect(quiet.stderr).to.equal('');
  });

  it('testBakeLocalCwdOverride: a cwd:// file overrides the one before it', async () => {
    const cwd = await tmpdir({
      'docker-bake.hcl': 'target "default" {\n\tdockerfile-inline = <<EOT\nFROM scratch\nCOPY foo /foo\nEOT\n}\n',
      'docker-bake-cwd.hcl': 'target "default" {\n\tdockerfile-inline = <<EOT\nFROM scratch\nCOPY bar /bar\nEOT\n}\n',
      bar: 'bar',
    });
    const dest = await tempDir();
    const r = ok(await bake(cwd, ['--file', 'docker-bake.hcl', '--file', 'cwd://docker-bake-cwd.hcl', '--progress=plain', '--set', `*.output=type=local,dest=${dest}`]));
    expect(r.stderr).to.contain('#1 [internal] load local bake definitions').and.contain('#1 reading docker-bake.hcl').and.contain('#1 reading docker-bake-cwd.hcl');
    expect(existsSync(join(dest, 'bar'))).to.equal(true);
  });

  it('testBakeRemoteLinkedTargetSecrets: secrets reach the RUNs of targets linked through target: contexts, the first file from a git server', async () => {
    // buildx's regression test for docker/buildx#4011; the linked build once (buildx repeats it 5 times for its
    // session race, which tsbuild's one-process builds do not have).
    const remote = await tmpdir({
      'remote.hcl': [
        'target "base" {', '\toutput = ["type=cacheonly"]', '\tdockerfile-inline = <<EOT', `FROM ${host}/busybox`, 'EOT', '}',
        'target "source-prep" {', '\tcontexts = {', '\t\tbase = "target:base"', '\t}', '\tsecret = ["id=SECRET1"]', '\toutput = ["type=cacheonly"]',
        '\tdockerfile-inline = <<EOT', 'FROM base', 'RUN --mount=type=secret,id=SECRET1,env=SECRET1 [ -n "$SECRET1" ] && echo $SECRET1 > /secret1', 'EOT', '}',
        'target "vs" {', '\tcontexts = {', '\t\tbase = "target:base"', '\t\tsource-prep = "target:source-prep"', '\t}', '\toutput = ["type=cacheonly"]',
        '\tdockerfile-inline = <<EOT', 'FROM base', 'COPY --from=source-prep /secret1 /', 'EOT', '}', '',
      ].join('\n'),
    });
    await git(remote, 'init', '-q', '-b', 'main');
    await git(remote, 'add', 'remote.hcl');
    await git(remote, 'commit', '-q', '-m', 'initial commit');
    const server = await serveGitHttp(remote);
    const cwd = await tmpdir({
      'docker-bake.hcl': [
        'target "vs-console" {', '\tcontexts = {', '\t\tbase = "target:vs"', '\t}', '\tsecret = ["id=SECRET2"]', '\toutput = ["type=cacheonly"]',
        '\tdockerfile-inline = <<EOT', 'FROM base', 'RUN --mount=type=secret,id=SECRET2,env=SECRET2 [ -n "$SECRET2" ] && echo $SECRET2 > /secret2', 'EOT', '}',
        'target "default" {', '\tcontexts = {', '\t\tbase = "target:vs-console"', '\t\tsource-prep = "target:source-prep"', '\t}', '\toutput = ["type=cacheonly"]',
        '\tdockerfile-inline = <<EOT', 'FROM base', 'COPY --from=source-prep /secret1 /secret1_copy', 'EOT', '}', '',
      ].join('\n'),
    });
    const out = await tempDir();
    try {
      ok(await bake(cwd, [server.url, '--no-cache', '--progress=plain', '--file=remote.hcl', '--file=cwd://docker-bake.hcl', '--set', `default.output=type=local,dest=${out}`],
        { SECRET1: 'foo', SECRET2: 'bar' }));
    } finally {
      await server.stop();
    }
    expect(await readFile(join(out, 'secret1_copy'), 'utf8')).to.equal('foo\n');
    expect(await readFile(join(out, 'secret2'), 'utf8')).to.equal('bar\n');
  });

  it('testBakeEmpty: no bake file is "couldn\'t find a bake definition"', async () => {
    expect(failed(await bakeCmd(await tmpdir()))).to.contain("couldn't find a bake definition");
  });

  it('testBakeShmSize, testBakeUlimits, testBakeExtraHosts: one bake of the three targets', async () => {
    const cwd = await tmpdir({
      'shm.Dockerfile': `FROM ${host}/busybox AS build\nRUN mount | grep /dev/shm > /shmsize\nFROM scratch\nCOPY --from=build /shmsize /\n`,
      'ulimit.Dockerfile': `FROM ${host}/busybox AS build\nRUN ulimit -n > first > /ulimit\nFROM scratch\nCOPY --from=build /ulimit /\n`,
      'hosts.Dockerfile': `FROM ${host}/busybox\nRUN cat /etc/hosts | grep myhost | grep 1.2.3.4\nRUN cat /etc/hosts | grep myhostmulti | grep 162.242.195.81\n`
        + 'RUN cat /etc/hosts | grep myhostmulti | grep 162.242.195.82\n',
      'docker-bake.hcl': [
        'group "default" {', '  targets = ["shm", "ulimit", "hosts"]', '}',
        'target "shm" {', '  dockerfile = "shm.Dockerfile"', '  shm-size = "128m"', '}',
        'target "ulimit" {', '  dockerfile = "ulimit.Dockerfile"', '  ulimits = ["nofile=1024:1024"]', '}',
        'target "hosts" {', '  dockerfile = "hosts.Dockerfile"', '  extra-hosts = {', '    myhost = "1.2.3.4"', '    myhostmulti = "162.242.195.81,162.242.195.82"', '  }', '}', '',
      ].join('\n'),
    });
    const shm = await tempDir();
    const ulimit = await tempDir();
    ok(await bakeCmd(cwd, ['--set', `shm.output=type=local,dest=${shm}`, '--set', `ulimit.output=type=local,dest=${ulimit}`, '--set', 'hosts.output=type=cacheonly']));
    expect(await readFile(join(shm, 'shmsize'), 'utf8')).to.contain('size=131072k');
    expect(await readFile(join(ulimit, 'ulimit'), 'utf8')).to.contain('1024');
  });

  describe('fs entitlements of outputs (the *NoParallel cases, BUILDX_BAKE_ENTITLEMENTS_FS true and false)', () => {
    const each = async (check: (ent: NodeJS.ProcessEnv, isEnforced: boolean) => Promise<void>): Promise<void> => {
      for (const isEnforced of [true, false]) await check({ BUILDX_BAKE_ENTITLEMENTS_FS: String(isEnforced) }, isEnforced);
    };
    const project = (hcl = 'target "default" {\n}\n'): Promise<string> => tmpdir({ 'docker-bake.hcl': hcl, ...COPY_FOO });

    it('testBakeSetNonExistingSubdirNoParallel: a new directory under the working directory is always allowed', async () => each(async (ent) => {
      const cwd = await project();
      const r = ok(await bake(cwd, ['--progress=plain', '--set', `*.output=type=local,dest=${join(cwd, 'not/exists')}`], ent));
      expect(r.stderr).to.contain('#1 [internal] load local bake definitions').and.contain('#1 reading docker-bake.hcl');
      expect(existsSync(join(cwd, 'not/exists/foo'))).to.equal(true);
    }));

    it('testBakeSetNonExistingOutsideNoParallel: a new directory outside it is asked for', async () => each(async (ent, isEnforced) => {
      const dest = join(await tempDir(), 'not/exists');
      const r = await bake(await project(), ['--progress=plain', '--set', `*.output=type=local,dest=${dest}`], ent);
      if (isEnforced) expect(failed(r)).to.contain('ERROR: additional privileges requested');
      else expect(ok(r) && existsSync(join(dest, 'foo'))).to.equal(true);
    }));

    it('testBakeSetExistingOutsideNoParallel: an existing directory --set names is always allowed', async () => each(async (ent) => {
      const dest = await tempDir();
      ok(await bake(await project(), ['--progress=plain', '--set', `*.output=type=local,dest=${dest}`], ent));
      expect(existsSync(join(dest, 'foo'))).to.equal(true);
    }));

    it('testBakeDefinitionNotExistingSubdirNoParallel: the definition may write a new directory under the working directory', async () => each(async (ent) => {
      const cwd = await project('target "default" {\n\toutput = ["type=local,dest=not/exists"]\n}\n');
      ok(await bake(cwd, ['--progress=plain'], ent));
      expect(existsSync(join(cwd, 'not/exists/foo'))).to.equal(true);
    }));

    it('testBakeDefinitionNotExistingOutsideNoParallel, testBakeDefinitionExistingOutsideNoParallel: not outside it', async () => each(async (ent, isEnforced) => {
      for (const dest of [join(await tempDir(), 'not/exists'), await tempDir()]) {
        const r = await bake(await project(`target "default" {\n\toutput = ["type=local,dest=${dest}"]\n}\n`), ['--progress=plain'], ent);
        if (isEnforced) expect(failed(r)).to.contain('ERROR: additional privileges requested');
        else expect(ok(r) && existsSync(join(dest, 'foo'))).to.equal(true);
      }
    }));

    it('testBakeDefinitionSymlinkOutsideNoParallel, testBakeDefinitionSymlinkOutsideGrantedNoParallel: nor through a link, unless --allow fs.write grants it', async () => each(async (ent, isEnforced) => {
      const dest = await tempDir();
      const cwd = await project('target "default" {\n\toutput = ["type=local,dest=out"]\n}\n');
      await symlink(dest, join(cwd, 'out'));
      const r = await bake(cwd, ['--progress=plain'], ent);
      if (isEnforced) expect(failed(r)).to.contain('ERROR: additional privileges requested');
      else expect(ok(r) && existsSync(join(dest, 'foo'))).to.equal(true);
      const granted = await tempDir();
      const cwd2 = await project('target "default" {\n\toutput = ["type=local,dest=out"]\n}\n');
      await symlink(granted, join(cwd2, 'out'));
      ok(await bake(cwd2, ['--progress=plain', '--allow', `fs.write=${granted}`], ent));
      expect(existsSync(join(granted, 'foo'))).to.equal(true);
    }));
  });

  it('testBakeLocalExportDeleteMode: mode=delete in the definition or a --set needs --allow=buildx.local.delete, which takes no value, and removes stale files', async () => {
    const bakefile = 'target "default" {\n\toutput = ["type=local,dest=out,mode=delete"]\n}\n';
    // definition requires allow (even for dest under the working directory: bake asks for it wherever dest is)
    let d = await tmpdir({ 'docker-bake.hcl': bakefile, ...COPY_FOO });
    expect(failed(await bake(d, ['--progress=rawjson']))).to.contain('--allow=buildx.local.delete');
    // and so whatever BUILDX_BAKE_ENTITLEMENTS_FS says: it is no path entitlement
    expect(failed(await bakeCmd(d, [], { BUILDX_BAKE_ENTITLEMENTS_FS: '0' }))).to.contain('--allow=buildx.local.delete');
    // set requires allow
    d = await tmpdir({ 'docker-bake.hcl': 'target "default" {}\n', ...COPY_FOO });
    expect(failed(await bake(d, ['--progress=rawjson', '--set', '*.output=type=local,dest=out,mode=delete']))).to.contain('--allow=buildx.local.delete');
    // allow does not accept value
    d = await tmpdir({ 'docker-bake.hcl': bakefile, ...COPY_FOO });
    expect(failed(await bakeCmd(d, ['--allow=buildx.local.delete=true']))).to.contain('buildx.local.delete does not accept a value');
    expect(existsSync(join(d, 'out'))).to.equal(false);
    // allow deletes stale files
    await mkdir(join(d, 'out', 'old'), { recursive: true });
    await writeFile(join(d, 'out', 'stale'), 'stale', { mode: 0o600 });
    await writeFile(join(d, 'out', 'old', 'f'), 'stale');
    ok(await bakeCmd(d, ['--allow=buildx.local.delete']));
    expect(await readdir(join(d, 'out'))).to.deep.equal(['foo']);
  });

  it('testBakeSSHPathNoParallel, testBakeSSHDefaultNoParallel: an SSH key outside the working directory and the default agent are asked for', async () => {
    const keyDir = await tempDir();
    const key = join(keyDir, 'id_rsa');
    await writeFile(key, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const dockerfile = 'FROM scratch\nCOPY Dockerfile /foo\n';
    const withKey = await tmpdir({ 'docker-bake.hcl': `target "default" {\n\tssh = ["key=${key}"]\n}\n`, Dockerfile: dockerfile });
    const withAgent = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n\tssh = ["default"]\n}\n', Dockerfile: dockerfile });
    // The --allow runs are the same whether the check is on or off: run once, with it on.
    const ent = { BUILDX_BAKE_ENTITLEMENTS_FS: 'true', SSH_AUTH_SOCK: key };
    const off = { ...ent, BUILDX_BAKE_ENTITLEMENTS_FS: 'false' };
    expect(failed(await bake(withKey, ['--progress=plain'], ent))).to.contain('ERROR: additional privileges requested').and.contain('Read access to path').and.contain('/id_rsa');
    ok(await bake(withKey, ['--progress=plain'], off));
    ok(await bake(withKey, ['--progress=plain', '--allow', `fs.read=${keyDir}`], ent));
    ok(await bake(withKey, ['--progress=plain', '--allow', `fs.read=${key}`], ent));
    expect(failed(await bake(withAgent, ['--progress=plain'], ent))).to.contain('ERROR: additional privileges requested').and.contain('Forwarding default SSH agent socket');
    ok(await bake(withAgent, ['--progress=plain'], off));
    ok(await bake(withAgent, ['--progress=plain', '--allow=ssh'], ent));
  });

  it('testBakeMetadataProvenance: buildx.build.provenance by BUILDX_METADATA_PROVENANCE, none when disabled', async () => {
    const cwd = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n}\n', ...COPY_FOO });
    for (const mode of ['', 'max', 'min', 'disabled']) {
      const dest = await tempDir();
      ok(await bake(cwd, ['--metadata-file', join(dest, 'md.json'), '--set', `default.output=type=docker,dest=${dest}/image.tar`],
        { BUILDX_METADATA_PROVENANCE: mode, BUILDX_BAKE_ENTITLEMENTS_FS: '0' }));
      const md = JSON.parse(await readFile(join(dest, 'md.json'), 'utf8')) as { default: { 'buildx.build.ref'?: string; 'buildx.build.provenance'?: { buildType?: string } } };
      expect(md.default['buildx.build.ref'], mode).to.be.a('string').and.not.equal('');
      if (mode === 'disabled') expect(md.default['buildx.build.provenance']).to.equal(undefined);
      else expect(md.default['buildx.build.provenance']?.buildType, mode).to.equal('https://mobyproject.org/buildkit@v1');
    }
  });

  const warningDockerfile = (): string => `frOM ${host}/busybox as base\ncOpy Dockerfile .\nfrom scratch\nCOPy --from=base \\\n  /Dockerfile \\\n  /\n`;
  type WarningsMetadata = Record<string, { 'buildx.build.ref'?: string } | unknown[]> & { 'buildx.build.warnings'?: unknown[] };

  it('testBakeMetadataWarnings: buildx.build.warnings only with BUILDX_METADATA_WARNINGS=true', async () => {
    const cwd = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n}\n', Dockerfile: warningDockerfile() });
    for (const mode of ['', 'true', 'false']) {
      const md = join(await tempDir(), 'md.json');
      ok(await bake(cwd, ['--metadata-file', md, '--set', '*.output=type=cacheonly'], { BUILDX_METADATA_WARNINGS: mode }));
      const dt = JSON.parse(await readFile(md, 'utf8')) as WarningsMetadata;
      expect((dt.default as { 'buildx.build.ref'?: string })['buildx.build.ref']).to.be.a('string').and.not.equal('');
      expect(dt['buildx.build.warnings'] ?? [], mode).to.have.length(mode === 'true' ? 3 : 0);
    }
  });

  it('testBakeMetadataWarningsDedup: two targets on one Dockerfile write its 3 warnings once', async () => {
    const cwd = await tmpdir({
      'docker-bake.hcl': 'group "default" {\n  targets = ["base", "def"]\n}\ntarget "base" {\n  target = "base"\n}\ntarget "def" {\n}\n',
      Dockerfile: warningDockerfile(),
    });
    const md = join(await tempDir(), 'md.json');
    ok(await bake(cwd, ['--metadata-file', md, '--set', '*.output=type=cacheonly'], { BUILDX_METADATA_WARNINGS: 'true' }));
    const dt = JSON.parse(await readFile(md, 'utf8')) as WarningsMetadata;
    expect((dt.base as { 'buildx.build.ref'?: string })['buildx.build.ref']).to.be.a('string').and.not.equal('');
    expect((dt.def as { 'buildx.build.ref'?: string })['buildx.build.ref']).to.be.a('string').and.not.equal('');
    expect(dt['buildx.build.warnings']).to.have.length(3);
  });

  it('testBakeMultiPlatform: pushes an index of both platforms', async () => {
    const cwd = await tmpdir({
      Dockerfile: `FROM --platform=$BUILDPLATFORM ${host}/busybox:latest AS base\nCOPY foo /etc/foo\nRUN cp /etc/foo /etc/bar\n\nFROM scratch\nCOPY --from=base /etc/bar /bar\n`,
      'docker-bake.hcl': 'target "default" {\nplatforms = ["linux/amd64", "linux/arm64"]\n}\n', foo: 'foo',
    });
    const target = `${host}/buildx/registry:latest`;
    ok(await bakeCmd(cwd, ['--set', `*.output=type=image,name=${target},push=true`]));
    const raw = ok(await tsbuild(['imagetools', 'inspect', '--raw', target])).stdout;
    const platforms = (JSON.parse(raw) as { manifests: { platform?: { os: string; architecture: string } }[] }).manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`);
    expect(platforms).to.include.members(['linux/amd64', 'linux/arm64']);
  });

  it('testBakeListTargets, testBakeListVariables, testBakeListTypedVariables: --list tables as buildx prints them', async () => {
    const targets = await tmpdir({ 'docker-bake.hcl': 'target "foo" {\n\tdescription = "This builds foo"\n}\ntarget "abc" {\n}\n' });
    expect(ok(await bakeCmd(targets, ['--list=targets'])).stdout.trim()).to.equal('TARGET\tDESCRIPTION\nabc\t\nfoo\tThis builds foo');
    const variables = await tmpdir({ 'docker-bake.hcl': 'variable "foo" {\n\tdefault = "bar"\n\tdescription = "This is foo"\n}\nvariable "abc" {\n\tdefault = null\n}\nvariable "def" {\n}\ntarget "default" {\n}\n' });
    expect(ok(await bakeCmd(variables, ['--list=variables'])).stdout.trim()).to.equal('VARIABLE\tTYPE\tVALUE\tDESCRIPTION\nabc\t\t\t<null>\t\ndef\t\t\t\t\nfoo\t\t\tbar\tThis is foo');
    const typed = await tmpdir({
      'docker-bake.hcl': [
        'variable "abc" {', '    type = string', '\tdefault = "bar"', '\tdescription = "This is abc"', '}',
        'variable "def" {', '    type = string', '    description = "simple type, no default"', '}',
        'variable "ghi" {', '    type = number', '    default = 99', '    description = "simple type w/ default"', '}',
        'variable "jkl" {', '    type = list(string)', '    default = ["hello"]', '    description = "collection with quoted strings"', '}',
        'variable "mno" {', '    type = list(number)', '    description = "collection, no default"', '}',
        'variable "pqr" {', '    type = tuple([number, string, bool])', '    default = [99, "99", true]', '}',
        'variable "stu" {', '    type = map(string)', '    default = {"foo": "bar"}', '}',
        'variable "vwx" {', '    type = set(bool)', '    default = null', '    description = "collection, null default"', '}',
        'variable "wxy" {', '    default = ["foo"]', '    description = "inferred tuple"', '}',
        'variable "xyz" {', '    default = {"foo": "bar"}', '    description = "inferred object"', '}',
        'variable "yza" {', '    default = true', '    description = "inferred bool"', '}',
        'target "default" {', '}', '',
      ].join('\n'),
    });
    expect(ok(await bakeCmd(typed, ['--list=variables'])).stdout.trim()).to.equal(
      'VARIABLE\tTYPE\t\tVALUE\t\tDESCRIPTION\n'
      + 'abc\t\tstring\t\tbar\t\tThis is abc\n'
      + 'def\t\tstring\t\t<null>\t\tsimple type, no default\n'
      + 'ghi\t\tnumber\t\t99\t\tsimple type w/ default\n'
      + 'jkl\t\tlist of string\t["hello"]\tcollection with quoted strings\n'
      + 'mno\t\tlist of number\t<null>\t\tcollection, no default\n'
      + 'pqr\t\ttuple\t\t[99,"99",true]\t\n'
      + 'stu\t\tmap of string\t{"foo":"bar"}\t\n'
      + 'vwx\t\tset of bool\t<null>\t\tcollection, null default\n'
      + 'wxy\t\t\t\t["foo"]\t\tinferred tuple\n'
      + 'xyz\t\t\t\t{"foo":"bar"}\tinferred object\n'
      + 'yza\t\t\t\ttrue\t\tinferred bool');
  });

  it('testBakeCallCheck: a target\'s call = "check" answers under the target\'s name and fails', async () => {
    const cwd = await tmpdir({ Dockerfile: 'FROM scratch\nCOPy foo /foo\n', 'docker-bake.hcl': 'target "validate" {\n\tcall = "check"\n}\n' });
    const r = await bakeCmd(cwd, ['validate']);
    failed(r);
    expect(r.stdout.split('\n')[0]).to.equal('validate');
    expect(r.stdout).to.contain('ConsistentInstructionCasing');
  });

  it('testBakeCallCheckFlag: --check answers for each target; --call check,format=json is one document of every target', async () => {
    const cwd = await tmpdir({
      'a.Dockerfile': 'FROM scratch\nCOPy foo /foo\n', 'b.Dockerfile': 'FROM scratch\nCOPY foo$BAR /foo\n',
      'docker-bake.hcl': 'target "build" {\n\tdockerfile = "a.Dockerfile"\n}\n\ntarget "another" {\n\tdockerfile = "b.Dockerfile"\n}\n',
    });
    const text = await bakeCmd(cwd, ['build', 'another', '--check']);
    failed(text);
    // In target name order, each under its name.
    expect(text.stdout).to.match(/^another\n\n[^]*UndefinedVar[^]*\nbuild\n\n[^]*ConsistentInstructionCasing/);
    const json = await bakeCmd(cwd, ['build', 'another', '--call', 'check,format=json']);
    failed(json);
    const res = JSON.parse(json.stdout) as { target: Record<string, { build?: unknown; check?: { warnings?: unknown[] } }> };
    expect(Object.keys(res.target)).to.deep.equal(['another', 'build']);
    for (const name of ['build', 'another']) {
      expect(res.target[name]?.build, name).to.be.an('object');
      expect(res.target[name]?.check?.warnings, name).to.have.length(1);
    }
  });

  it('testBakeCallMetadata: --call check,format=json with --metadata-file writes result.json and no build ref', async () => {
    const cwd = await tmpdir({ 'docker-bake.hcl': 'target "default" {}\n', Dockerfile: warningDockerfile() });
    const r = await bake(cwd, ['--call', 'check,format=json', '--metadata-file', join(cwd, 'md.json')]);
    failed(r);
    const res = JSON.parse(r.stdout) as { target: { default: { build?: unknown; check: { warnings: unknown[] } } } };
    expect(res.target.default.build).to.be.an('object');
    expect(res.target.default.check.warnings).to.have.length(3);
    const md = JSON.parse(await readFile(join(cwd, 'md.json'), 'utf8')) as { default: { 'buildx.build.ref'?: string; 'result.json': { warnings: unknown[] } } };
    expect(md.default['buildx.build.ref']).to.equal(undefined);
    expect(md.default['result.json'].warnings).to.have.length(3);
  });

  it('testBakeCheckCallOutput: the warning count line, per target, and each Dockerfile\'s path', async () => {
    const one = `FROM ${host}/busybox\ncopy Dockerfile .\n`;
    const two = `FROM ${host}/busybox\ncopy Dockerfile .\n\nFROM ${host}/busybox as base\nCOPY Dockerfile .\n`;
    const none = await tmpdir({ Dockerfile: `FROM ${host}/busybox\nCOPY Dockerfile .\n`, 'docker-bake.hcl': 'target "default" {}\n' });
    expect(ok(await bake(none, ['--call', 'check'])).stdout).to.contain('Check complete, no warnings found.');
    const single = await tmpdir({ Dockerfile: one, 'docker-bake.hcl': 'target "default" {}\n' });
    expect(failed(await bake(single, ['--call', 'check']))).to.contain('Check complete, 1 warning has been found!');
    const multiple = await tmpdir({ Dockerfile: two, 'docker-bake.hcl': 'target "default" {}\n' });
    expect(failed(await bake(multiple, ['--call', 'check']))).to.contain('Check complete, 2 warnings have been found!');
    const targets = await tmpdir({
      'Dockerfile.first': one, 'Dockerfile.second': two,
      'docker-bake.hcl': 'target "first" {\n\tdockerfile = "Dockerfile.first"\n}\ntarget "second" {\n\tdockerfile = "Dockerfile.second"\n}\n',
    });
    const both = await bake(targets, ['--call', 'check', 'first', 'second']);
    expect(failed(both)).to.contain('Check complete, 1 warning has been found!').and.contain('Check complete, 2 warnings have been found!');
    const paths = await tmpdir({
      Dockerfile: one, 'subdir/Dockerfile': one, 'subdir/subsubdir/Dockerfile': one,
      'docker-bake.hcl': 'target "first" {\n\tdockerfile = "Dockerfile"\n}\ntarget "second" {\n\tdockerfile = "subdir/Dockerfile"\n}\ntarget "third" {\n\tdockerfile = "subdir/subsubdir/Dockerfile"\n}\n',
    });
    const r = await bake(paths, ['--call', 'check', 'first', 'second', 'third']);
    failed(r);
    expect(r.stdout).to.contain('\nDockerfile:2').and.contain('subdir/Dockerfile:2').and.contain('subdir/subsubdir/Dockerfile:2');
  });

  it('testBakeFileFromEnvironment: BUILDX_BAKE_FILE names the files (BUILDX_BAKE_PATH_SEPARATOR, - for stdin) unless -f does', async () => {
    const first = 'target "first" {\n  dockerfile-inline = "FROM scratch\\nCOPY first /"\n}\n';
    const second = 'target "second" {\n  dockerfile-inline = "FROM scratch\\nCOPY second /"\n}\n';
    const plain = ['--progress=plain', '--set', '*.output=type=cacheonly'];
    const noEnv = ok(await bake(await tmpdir({ 'docker-bake.hcl': first, first: 'first' }), [...plain, 'first']));
    expect(noEnv.stderr).to.contain('#1 [internal] load local bake definitions\n').and.contain('#1 reading docker-bake.hcl').and.not.contain('from BUILDX_BAKE_FILE env');
    const single = ok(await bake(await tmpdir({ 'first.hcl': first, first: 'first', 'docker-bake.hcl': 'invalid bake file' }), [...plain, 'first'], { BUILDX_BAKE_FILE: 'first.hcl' }));
    expect(single.stderr).to.contain('#1 [internal] load local bake definitions from BUILDX_BAKE_FILE env').and.contain('#1 reading first.hcl').and.not.contain('docker-bake.hcl');
    const twoFiles = await tmpdir({ 'first.hcl': first, first: 'first', 'second.hcl': second, second: 'second' });
    const multiple = ok(await bake(twoFiles, [...plain, 'second', 'first'], { BUILDX_BAKE_FILE: 'first.hcl:second.hcl' }));
    expect(multiple.stderr).to.contain('from BUILDX_BAKE_FILE env').and.contain('#1 reading first.hcl').and.contain('#1 reading second.hcl');
    const separator = ok(await bake(twoFiles, [...plain, 'second', 'first'], { BUILDX_BAKE_PATH_SEPARATOR: '@', BUILDX_BAKE_FILE: 'first.hcl@second.hcl' }));
    expect(separator.stderr).to.contain('#1 reading first.hcl').and.contain('#1 reading second.hcl');
    const stdin = ok(await bakeStdin(await tmpdir({ 'first.hcl': first, first: 'first', second: 'second' }), [...plain, 'second', 'first'], second, { BUILDX_BAKE_FILE: 'first.hcl:-' }));
    expect(stdin.stderr).to.contain('from BUILDX_BAKE_FILE env').and.contain('#1 reading first.hcl').and.contain('#1 reading from stdin');
    expect(failed(await bake(twoFiles, ['--progress=plain', '-f', 'first.hcl', 'first', 'second'], { BUILDX_BAKE_FILE: 'second.hcl' }))).to.contain('failed to find target second');
    expect(failed(await bake(twoFiles, ['--progress=plain', 'first'], { BUILDX_BAKE_FILE: 'wrong.hcl' }))).to.contain('wrong.hcl: no such file or directory');
    for (const value of ['', '  ']) {
      expect(failed(await bake(await tmpdir({ 'first.hcl': first, first: 'first' }), ['--progress=plain', 'first'], { BUILDX_BAKE_FILE: value }))).to.contain("couldn't find a bake definition");
    }
  });

  describe('remote definitions (one repository on a dumb-HTTP git server, as buildx\'s GitServeHTTP)', () => {
    // buildx makes a repository per case; here one holds every case's files and targets (its `bar` directory is `sub`,
    // beside testBakeRemoteDockerfileCwd's `bar` file), and the cases share bake runs: a run builds several targets.
    const INLINE_FOO = ['\tdockerfile-inline = <<EOT', 'FROM scratch', 'COPY foo /foo', 'EOT'];
    let repo = '';
    let server: GitHttpServer | undefined;
    let authed: GitHttpServer | undefined;
    const token = randomBytes(10).toString('hex');
    before(async () => {
      repo = await tmpdir({
        'docker-bake.hcl': [
          'variable "ESCAPE_ROOT" {', '}',
          'target "default" {', ...INLINE_FOO, '}',
          'target "subdir" {', '\tcontext = "./sub"', '}',
          'target "named" {', '\tcontext = "./build"', '\tdockerfile = "Dockerfile"', '\tcontexts = {', '\t\tfiles = "./files-src/"', '\t\tdot = "."', '\t}', '}',
          'target "cmd" {', '\tcontext = BAKE_CMD_CONTEXT', ...INLINE_FOO, '}',
          'target "dfcwd" {', '\tcontext = "."', '\tdockerfile = "cwd://Dockerfile.app"', '}',
          'target "localdf" {', '\tcontext = BAKE_CMD_CONTEXT', '\tdockerfile = "Dockerfile.app"', '}',
          'target "escape-root" {', '\tcontext = "cwd://${ESCAPE_ROOT}"', ...INLINE_FOO, '}',
          'target "escape-rel" {', '\tcontext = "cwd://../"', ...INLINE_FOO, '}', '',
        ].join('\n'),
        'sub/Dockerfile': 'FROM scratch\nCOPY super-cool.txt /\n', 'sub/super-cool.txt': 'super cool',
        'build/Dockerfile': 'FROM scratch\nCOPY --from=files file.txt /file.txt\nCOPY --from=dot marker.txt /marker.txt\n',
        'files-src/file.txt': 'hello', 'marker.txt': 'hello',
        Dockerfile: 'FROM scratch\nCOPY bar /bar\n', foo: 'foo', bar: 'bar',
      });
      await git(repo, 'init', '-q', '-b', 'main');
      await git(repo, 'add', '.');
      await git(repo, 'commit', '-q', '-m', 'initial commit');
      server = await serveGitHttp(repo);
      authed = await serveGitHttp(repo, { token });
    });
    after(async () => { await server?.stop(); await authed?.stop(); });
    const url = (): string => server?.url ?? '';
    const outputs = (dests: Record<string, string>): string[] => Object.entries(dests).flatMap(([t, d]) => ['--set', `${t}.output=type=local,dest=${d}`]);

    it('testBakePrintRemoteContextSubdir: a relative context prints as the repository at #ref:subdir', async () => {
      const cwd = await tmpdir();
      for (const [ref, expected] of [['', `${url()}#:sub`], ['#main', `${url()}#main:sub`]] as const) {
        const def = JSON.parse(ok(await bake(cwd, [url() + ref, 'subdir', '--print'])).stdout) as Definition;
        expect(def).to.deep.equal({ group: { default: { targets: ['subdir'] } }, target: { subdir: { context: expected, dockerfile: 'Dockerfile' } } });
      }
    });

    it('testBakeRemote, testBakeRemoteAuth, testBakeRemoteContextSubdir, testBakeRemoteNamedContextSubdir, testBakeRemoteNamedContextDot, '
      + 'testBakeRemoteCmdContext, testBakeRemoteDockerfileCwd: one bake of their targets, the repository behind a token', async () => {
      const cwd = await tmpdir({ foo: 'foo', 'Dockerfile.app': 'FROM scratch\nCOPY foo /foo\n' });
      const d = { default: await tempDir(), subdir: await tempDir(), named: await tempDir(), cmd: await tempDir(), dfcwd: await tempDir() };
      // Without BUILDX_BAKE_GIT_AUTH_TOKEN the server refuses the fetch (and the token never shows).
      expect(failed(await bakeCmd(cwd, [authed?.url ?? '', 'default', ...outputs({ default: d.default })]))).to.not.contain(token);
      ok(await bakeCmd(cwd, [authed?.url ?? '', ...Object.keys(d), ...outputs(d)], { BUILDX_BAKE_GIT_AUTH_TOKEN: token }));
      expect(await readFile(join(d.default, 'foo'), 'utf8')).to.equal('foo');
      expect(await readFile(join(d.subdir, 'super-cool.txt'), 'utf8')).to.equal('super cool');
      expect(await readFile(join(d.named, 'file.txt'), 'utf8')).to.equal('hello');
      expect(await readFile(join(d.named, 'marker.txt'), 'utf8')).to.equal('hello');
      expect(await readFile(join(d.cmd, 'foo'), 'utf8')).to.equal('foo');
      // dockerfile = "cwd://Dockerfile.app": the local Dockerfile (COPY foo), the repository's context, not its Dockerfile (COPY bar).
      expect(existsSync(join(d.dfcwd, 'foo')) && !existsSync(join(d.dfcwd, 'bar'))).to.equal(true);
    });

    it('testBakeRemoteDockerfileCwd (without the local Dockerfile), testBakeRemoteLocalContextRemoteDockerfile: refused', async () => {
      const cwd = await tmpdir({ foo: 'foo', 'Dockerfile.app': 'FROM scratch\nCOPY foo /foo\n' });
      expect(failed(await bakeCmd(cwd, [url(), 'localdf', '--set', '*.output=type=cacheonly'])))
        .to.contain('reading a dockerfile for a remote build invocation is currently not supported');
      expect(failed(await bakeCmd(await tmpdir({ foo: 'foo' }), [url(), 'dfcwd', '--set', '*.output=type=cacheonly']))).to.contain('Dockerfile.app');
    });

    it('testBakeRemoteLocalOverride, testBakeRemoteCmdContextOverride: a cwd:// file overrides the remote one; a second URL is BAKE_CMD_CONTEXT', async () => {
      const cwd = await tmpdir({ 'local-docker-bake.hcl': ['target "default" {', '\tdockerfile-inline = <<EOT', 'FROM scratch', 'COPY bar /bar', 'EOT', '}', ''].join('\n') });
      const d = { default: await tempDir(), cmd: await tempDir() };
      ok(await bakeCmd(cwd, [url(), url(), 'default', 'cmd', '--file', 'cwd://local-docker-bake.hcl', ...outputs(d)]));
      expect(existsSync(join(d.default, 'bar')) && !existsSync(join(d.default, 'foo'))).to.equal(true);
      expect(await readFile(join(d.cmd, 'foo'), 'utf8')).to.equal('foo');
    });

    it('testBakeRemoteCmdContextEscapeRoot, testBakeRemoteCmdContextEscapeRelative: a cwd:// context outside the working directory is asked for, '
      + 'unless BAKE_ALLOW_REMOTE_FS_ACCESS=1', async () => {
      const src = await tmpdir({ foo: 'foo', 'other/foo': 'foo', 'subdir/.keep': '' });
      const cwd = join(src, 'subdir');
      const d = { 'escape-root': await tempDir(), 'escape-rel': await tempDir() };
      const vars = { ESCAPE_ROOT: join(src, 'other') };
      const refused = failed(await bakeCmd(cwd, [url(), ...Object.keys(d), ...outputs(d)], vars));
      expect(refused).to.contain('additional privileges requested').and.contain('Read access to path ../other ').and.contain('Read access to path .. ');
      ok(await bakeCmd(cwd, [url(), ...Object.keys(d), ...outputs(d)], { ...vars, BAKE_ALLOW_REMOTE_FS_ACCESS: '1' }));
      expect(existsSync(join(d['escape-root'], 'foo')) && existsSync(join(d['escape-rel'], 'foo'))).to.equal(true);
    });

    it('an http(s) URL: a tar.gz is the definition\'s tree and the context ".", a body that is no archive the definition itself; no link is followed', async () => {
      const hcl = ['target "default" {', ...INLINE_FOO, '}', ''].join('\n');
      const archive = gzipSync(await packTar([{ name: 'docker-bake.hcl', content: hcl }, { name: 'foo', content: 'foo' },
        { name: 'link.hcl', type: 'symlink', linkname: '/etc/passwd' }], { mode: 0o644 }));
      const http = createServer((req, res) => {
        if (req.url === '/def.tar.gz') res.writeHead(200).end(archive);
        else if (req.url === '/docker-bake.hcl') res.writeHead(200).end('target "default" {\n\targs = { FROM_URL = "yes" }\n}\n');
        else if (req.url === '/bad.hcl') res.writeHead(200).end('target "default" {\n\tcontext = nosuch(1)\n}\n');
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      try {
        const cwd = await tmpdir();
        const dest = await tempDir();
        ok(await bakeCmd(cwd, [`${base}/def.tar.gz`, ...outputs({ default: dest })]));
        expect(await readFile(join(dest, 'foo'), 'utf8')).to.equal('foo');
        expect(failed(await bakeCmd(cwd, [`${base}/def.tar.gz`, '-f', 'link.hcl', '--print']))).to.contain('symbolic link').and.not.contain('root:x:0:0');
        // No archive: the body is the definition; its context stays the working directory's (buildx: no Input.State).
        const def = JSON.parse(ok(await bake(cwd, [`${base}/docker-bake.hcl`, '--print'])).stdout) as Definition;
        expect(def.target.default).to.deep.include({ context: '.', args: { FROM_URL: 'yes' } });
        // The file is named by its URL in an error about it, with the URL's credentials redacted.
        const bad = failed(await bakeCmd(cwd, [`${base.replace('//', '//u:sekrit@')}/bad.hcl`, '--print']));
        expect(bad).to.contain('bad.hcl:2').and.contain('nosuch').and.not.contain('sekrit');
      } finally {
        await new Promise((resolve) => http.close(resolve));
      }
    });

    it('a remote definition reads no file through a symbolic link, and a relative context stays inside the repository', async () => {
      const linked = await tmpdir({ 'docker-bake.hcl': 'target "default" {\n\tcontext = "../../.."\n}\n', Dockerfile: 'FROM scratch\nCOPY foo /foo\n', foo: 'foo' });
      await symlink('/etc/passwd', join(linked, 'passwd.hcl'));
      await git(linked, 'init', '-q', '-b', 'main');
      await git(linked, 'add', '.');
      await git(linked, 'commit', '-q', '-m', 'links');
      const s = await serveGitHttp(linked);
      try {
        const cwd = await tmpdir();
        const r = failed(await bakeCmd(cwd, [s.url, '-f', 'passwd.hcl', '--print']));
        expect(r).to.contain('symbolic link').and.not.contain('root:x:0:0');
        // `../../..` is printed as buildx prints it, and is the repository's root (BuildKit cleans a subdir from "/"),
        // never a directory of this host.
        const def = JSON.parse(ok(await bake(cwd, [s.url, '--print'])).stdout) as Definition;
        expect(def.target.default?.context).to.equal(`${s.url}#:../../..`);
        const dest = await tempDir();
        ok(await bakeCmd(cwd, [s.url, ...outputs({ default: dest })]));
        expect(await readFile(join(dest, 'foo'), 'utf8')).to.equal('foo');
      } finally {
        await s.stop();
      }
    });
  });
});
