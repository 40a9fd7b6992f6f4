import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { publishBusybox } from '../fixtures/busybox-image.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { serveDir, type StaticHttpServer } from '../fixtures/static-http-server.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';
import { writeFiles } from '../fixtures/write-files.js';

// BuildKit's own Dockerfile integration tests that the other buildkit-parity-* files do not port (moby/buildkit
// frontend/dockerfile/dockerfile_{check,source_date_epoch,onbuild,platform,resources,provenance}_test.go), run
// through the tsbuild CLI. Each `it` is named after the Go test function it ports. Docker Hub's busybox and alpine,
// which BuildKit's tests name, are the fixture's busybox on the local registry, set up as docker.io's mirror in
// tsbuild.toml, so the Dockerfiles keep BuildKit's text. Cases share one registry and one root and run in parallel.

/** One finding as BuildKit's tests expect it (expectedLintWarning). */
interface Expected { rule: string; detail: string; line: number; description: string; url?: string }

// The rules' descriptions and docs pages as BuildKit's dockerfile_check_test.go spells them in its expectations.
const DESCRIBED: Record<string, [string, string?]> = {
  CopyIgnoredFile: ['Attempting to Copy file that is excluded by .dockerignore', 'https://docs.docker.com/go/dockerfile/rule/copy-ignored-file/'],
  SecretsUsedInArgOrEnv: ['Sensitive data should not be used in the ARG or ENV commands', 'https://docs.docker.com/go/dockerfile/rule/secrets-used-in-arg-or-env/'],
  UndefinedVar: ['Variables should be defined before their use', 'https://docs.docker.com/go/dockerfile/rule/undefined-var/'],
  FromAsCasing: ["The 'as' keyword should match the case of the 'from' keyword", 'https://docs.docker.com/go/dockerfile/rule/from-as-casing/'],
  StageNameCasing: ['Stage names should be lowercase', 'https://docs.docker.com/go/dockerfile/rule/stage-name-casing/'],
  NoEmptyContinuation: ['Empty continuation lines will become errors in a future release', 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/'],
  ConsistentInstructionCasing: ['All commands within the Dockerfile should use the same casing (either upper or lower)', 'https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/'],
  DuplicateStageName: ['Stage names should be unique', 'https://docs.docker.com/go/dockerfile/rule/duplicate-stage-name/'],
  ReservedStageName: ['Reserved words should not be used as stage names', 'https://docs.docker.com/go/dockerfile/rule/reserved-stage-name/'],
  JSONArgsRecommended: ['JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals', 'https://docs.docker.com/go/dockerfile/rule/json-args-recommended/'],
  MaintainerDeprecated: ['The MAINTAINER instruction is deprecated, use a label instead to define an image author', 'https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/'],
  UndefinedArgInFrom: ['FROM command must use declared ARGs', 'https://docs.docker.com/go/dockerfile/rule/undefined-arg-in-from/'],
  WorkdirRelativePath: ['Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes', 'https://docs.docker.com/go/dockerfile/rule/workdir-relative-path/'],
  MultipleInstructionsDisallowed: ['Multiple instructions of the same type should not be used in the same stage', 'https://docs.docker.com/go/dockerfile/rule/multiple-instructions-disallowed/'],
  LegacyKeyValueFormat: ['Legacy key/value format with whitespace separator should not be used', 'https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/'],
  RedundantTargetPlatform: ['Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior', 'https://docs.docker.com/go/dockerfile/rule/redundant-target-platform/'],
  InvalidDefaultArgInFrom: ['Default value for global ARG results in an empty or invalid base image name', 'https://docs.docker.com/go/dockerfile/rule/invalid-default-arg-in-from/'],
  FromPlatformFlagConstDisallowed: ['FROM --platform flag should not use a constant value', 'https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/'],
  ExposeProtoCasing: ['Protocol in EXPOSE instruction should be lowercase', 'https://docs.docker.com/go/dockerfile/rule/expose-proto-casing/'],
  ExposeInvalidFormat: ['IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release', 'https://docs.docker.com/go/dockerfile/rule/expose-invalid-format/'],
  InvalidBaseImagePlatform: ['Base image platform does not match expected target platform'],
};
const w = (rule: string, detail: string, line: number): Expected => {
  const [description, url] = DESCRIBED[rule] ?? ['?'];
  return { rule, detail, line, description, ...(url !== undefined ? { url } : {}) };
};

/** BuildKit's lintTestParams, less the client and directory. */
interface LintCase {
  dockerfile: string;
  dockerignore?: string;
  warnings?: Expected[];
  /** What the lint subrequest (`--call=check`) reports when it differs from the build's warnings. */
  unmarshalWarnings?: Expected[];
  /** The build's error, and the lint results' error message (BuildKit compares that one exactly). */
  buildErr?: string;
  /** tsbuild's words for the same error where they differ from BuildKit's on purpose (STYLE.md, errors). */
  tsbuildErr?: string;
  /** The build's error when only a pattern is known (BuildKit's StreamBuildErrRegexp). */
  streamBuildErr?: RegExp;
  frontendAttrs?: Record<string, string>;
}

interface BuildxWarningJson { level: number; short: string; detail?: string[]; url?: string }
interface LintWarningJson { ruleName: string; description?: string; url?: string; detail: string; location: { ranges: { start: { line: number } }[] } }
interface LintResultsJson { warnings: LintWarningJson[] | null; buildError?: { message: string; location: unknown } }

describe('BuildKit parity: more (check, source_date_epoch, onbuild, platform, resources, provenance)', function () {
  this.timeout(120_000);
  let env: BuildEnv;
  let host = '';
  let root = '';
  let config = '';
  let n = 0;

  before(async () => {
    env = await startBuildEnv('tsbuild-parity-more-');
    host = env.registry.host;
    root = join(env.dir, 'root');
    // Docker Hub's library/busybox (both platforms, as the index BuildKit's tests pull) and library/alpine, served
    // by the local registry as docker.io's mirror.
    await publishBusybox(host, 'library/busybox', 'single');
    for (const tag of ['latest', 'stable-musl']) await copyImage(`${host}/library/busybox:multi`, `${host}/library/busybox:${tag}`);
    config = join(env.dir, 'tsbuild.toml');
    await writeFile(config, `[registry."docker.io"]\nmirrors = ["${host}"]\n`);
    const alpine = await dirWith({ Dockerfile: 'FROM busybox\nCOPY alpine-release /etc/alpine-release\n', 'alpine-release': '3.20.0\n' });
    ok(await cli(['build', '--root', root, '--progress', 'plain', '--provenance', 'false', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', `${host}/library/alpine:latest`, alpine]));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await env?.stop();
  });
  const servers: StaticHttpServer[] = [];
  /** An HTTP server of `files` (BuildKit's httpserver.NewTestServer), with a Last-Modified for the paths `modified` names. */
  const serve = async (files: Record<string, string | Buffer>, modified: Record<string, number> = {}): Promise<string> => {
    const dir = await dirWith(files);
    const headers = Object.fromEntries(Object.entries(modified).map(([path, at]) => [path, { 'last-modified': new Date(at * 1000).toUTCString() }]));
    const server = await serveDir(dir, headers);
    servers.push(server);
    return server.url;
  };

  /** The CLI with docker.io mirrored to the local registry. */
  const cli = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
    tsbuild(args, { ...opts, env: { TSBUILD_CONFIG: config, ...opts.env } });
  const build = (args: string[], cwd?: string): Promise<CliResult> =>
    cli(['build', '--root', root, '--progress', 'plain', '--provenance', 'false', ...args], cwd !== undefined ? { cwd } : {});
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr).to.equal(0); return r; };
  const copyImage = async (from: string, to: string): Promise<void> => {
    const r = await run('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${from}`, `docker://${to}`]);
    expect(r.code, r.stderr).to.equal(0);
  };
  /** A fresh directory with these files (mode 0600, as BuildKit's fstest.CreateFile gives them). */
  const dirWith = (files: Record<string, string | Buffer>): Promise<string> => writeFiles(join(env.dir, `ctx${++n}`), files, { mode: 0o600 });

  describe('dockerfile_check_test.go', () => {
    const sortWarnings = (list: Expected[]): Expected[] => [...list].sort((a, b) => a.line - b.line || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0));
    const short = (x: Expected): string => `${x.rule}: ${x.detail} (line ${x.line})`;
    const lineOf = (s: string): number => Number(/\(line (\d+)\)$/.exec(s)?.[1] ?? 0);

    /** The frontend attributes as CLI flags. */
    const attrFlags = (attrs: Record<string, string>): string[] => Object.entries(attrs).flatMap(([k, v]) => {
      if (k.startsWith('build-arg:')) return ['--build-arg', `${k.slice('build-arg:'.length)}=${v}`];
      if (k === 'platform') return ['--platform', v];
      throw new Error(`no CLI flag for the frontend attribute ${k}`);
    });

    /**
     * checkProgressStream: a build (for linux/amd64 and linux/arm64 unless the case gives attributes), its warnings
     * from --metadata-file (buildx.build.warnings, BuildKit's VertexWarning) when it succeeds, else from the notes it
     * printed, each once however many platforms are built.
     */
    const checkProgressStream = async (dir: string, c: LintCase, what: string): Promise<void> => {
      const md = join(dir, '..', `${dir.split('/').pop() ?? ''}.md.json`);
      const flags = c.frontendAttrs ? attrFlags(c.frontendAttrs) : ['--platform', 'linux/amd64,linux/arm64'];
      const r = await cli(['build', '--root', root, '--progress', 'plain', '--provenance', 'false', '--metadata-file', md, ...flags, dir], { env: { BUILDX_METADATA_WARNINGS: '1' } });
      let got: { short: string; description?: string; url?: string; level: number }[];
      if (c.buildErr === undefined && c.streamBuildErr === undefined) {
        expect(r.code, `${what}: ${r.stderr}`).to.equal(0);
        const meta = JSON.parse(await readFile(md, 'utf8')) as { 'buildx.build.warnings'?: BuildxWarningJson[] };
        got = (meta['buildx.build.warnings'] ?? []).map((x) => ({
          short: Buffer.from(x.short, 'base64').toString(), level: x.level,
          ...(x.detail?.[0] !== undefined ? { description: Buffer.from(x.detail[0], 'base64').toString() } : {}), ...(x.url !== undefined ? { url: x.url } : {}),
        }));
      } else {
        expect(r.code, `${what}: ${r.stderr}`).to.not.equal(0);
        if (c.buildErr !== undefined) expect(r.stderr, what).to.contain(c.tsbuildErr ?? c.buildErr);
        else if (c.streamBuildErr !== undefined) expect(r.stderr, what).to.match(c.streamBuildErr);
        // A failed build writes no metadata file: the warnings are its notes, `#- FILE:LINE: warning: RULE: DETAIL`.
        got = [...r.stderr.matchAll(/^#- [^\n]*?:(\d+): (?:warning|error): ([A-Za-z]+): ([^\n]*)$/gm)]
          .map((m) => ({ short: `${m[2] ?? ''}: ${m[3] ?? ''} (line ${m[1] ?? ''})`, level: 1 }));
      }
      const want = sortWarnings(c.warnings ?? []);
      got.sort((a, b) => lineOf(a.short) - lineOf(b.short) || (a.short < b.short ? -1 : a.short > b.short ? 1 : 0));
      expect(got.map((x) => x.short), `${what}: ${r.stderr}`).to.deep.equal(want.map(short));
      if (c.buildErr === undefined && c.streamBuildErr === undefined) {
        expect(got.map((x) => [x.description, x.url, x.level]), what).to.deep.equal(want.map((x) => [x.description, x.url, 1]));
      }
    };

    /** checkUnmarshal: the lint subrequest, `--call=check,format=json`, with the case's attributes. */
    const checkUnmarshal = async (dir: string, c: LintCase, what: string): Promise<void> => {
      const r = await cli(['build', '--call=check,format=json', ...attrFlags(c.frontendAttrs ?? {}), dir]);
      const results = JSON.parse(r.stdout) as LintResultsJson;
      if (c.buildErr === undefined) {
        expect(results.buildError, `${what}: ${r.stdout}`).to.equal(undefined);
      } else {
        expect(results.buildError?.message, what).to.equal(c.tsbuildErr ?? c.buildErr);
        // BuildKit requires a location (its SourceIndex within the sources), not that it has ranges: a lint
        // violation has none.
        expect(results.buildError?.location, what).to.be.an('object');
      }
      const want = sortWarnings(c.unmarshalWarnings ?? c.warnings ?? []);
      const got = [...results.warnings ?? []].sort((a, b) => (a.location.ranges[0]?.start.line ?? 0) - (b.location.ranges[0]?.start.line ?? 0) || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0));
      expect(got.map((x) => [x.ruleName, x.detail, x.location.ranges[0]?.start.line]), what).to.deep.equal(want.map((x) => [x.rule, x.detail, x.line]));
      expect(got.map((x) => [x.description, x.url]), what).to.deep.equal(want.map((x) => [x.description, x.url]));
    };

    /** BuildKit's checkLinterWarnings: the same Dockerfile built (warntype=progress) and linted (warntype=unmarshal). */
    const checkLinterWarnings = async (c: LintCase, what = c.dockerfile): Promise<void> => {
      const dir = await dirWith({ Dockerfile: c.dockerfile, ...(c.dockerignore !== undefined ? { '.dockerignore': c.dockerignore } : {}) });
      await Promise.all([checkProgressStream(dir, c, `${what} (progress)`), checkUnmarshal(dir, c, `${what} (unmarshal)`)]);
    };
    /** Every case of one BuildKit test, at once. */
    const checkAll = async (cases: LintCase[]): Promise<void> => {
      await Promise.all(cases.map((c) => checkLinterWarnings(c)));
    };

    it('testRuleCheckOption: # check=skip=/error=, and the BUILDKIT_DOCKERFILE_CHECK build arg over it', async () => {
      const fromAs = [w('FromAsCasing', "'as' and 'FROM' keywords' casing do not match", 2)];
      await checkAll([
        { dockerfile: '#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n' },
        { dockerfile: '#check=skip=all;error=true\nFROM scratch as base\ncopy Dockerfile .\n' },
        { dockerfile: '#check=skip=ConsistentInstructionCasing,FromAsCasing\nFROM scratch as base\ncopy Dockerfile .\n' },
        { dockerfile: '#check=skip=ConsistentInstructionCasing,FromAsCasing;error=true\nFROM scratch as base\ncopy Dockerfile .\n' },
        { dockerfile: '#check=skip=ConsistentInstructionCasing\nFROM scratch as base\ncopy Dockerfile .\n', warnings: fromAs },
        { dockerfile: '#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as base\ncopy Dockerfile .\n', warnings: fromAs, buildErr: 'lint violation found for rules: FromAsCasing' },
        {
          dockerfile: '#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n', warnings: fromAs, buildErr: 'lint violation found for rules: FromAsCasing',
          frontendAttrs: { 'build-arg:BUILDKIT_DOCKERFILE_CHECK': 'skip=ConsistentInstructionCasing;error=true' },
        },
        { dockerfile: '#check=error=true\nFROM scratch as base\ncopy Dockerfile .\n', frontendAttrs: { 'build-arg:BUILDKIT_DOCKERFILE_CHECK': 'skip=all' } },
      ]);
    });

    it('testStageName: StageNameCasing and FromAsCasing', async () => {
      await checkAll([
        {
          dockerfile: '\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n# warning: \'as\' should match \'FROM\' cmd casing.\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n',
          warnings: [w('StageNameCasing', "Stage name 'BadStageName' should be lowercase", 4), w('FromAsCasing', "'as' and 'FROM' keywords' casing do not match", 8)],
        },
        {
          dockerfile: '\n# warning: \'AS\' should match \'from\' cmd casing.\n#\nfrom scratch AS base\n\nfrom scratch as base2\n',
          warnings: [w('FromAsCasing', "'AS' and 'from' keywords' casing do not match", 4)],
        },
      ]);
    });

    it('testNoEmptyContinuation: an empty line inside a continued instruction', async () => {
      await checkAll([{
        dockerfile: '\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n',
        warnings: [w('NoEmptyContinuation', 'Empty continuation line', 6)],
      }]);
    });

    it('testConsistentInstructionCasing: the majority\'s casing, mixed-case commands, and a heredoc left alone', async () => {
      const casing = (cmd: string, majority: string, line: number): Expected => w('ConsistentInstructionCasing', `Command '${cmd}' should match the case of the command majority (${majority})`, line);
      await checkAll([
        { dockerfile: '\n# warning: \'FROM\' should be either lowercased or uppercased\n#\nFrom scratch as base\nFROM scratch AS base2\n', warnings: [casing('From', 'uppercase', 4)] },
        { dockerfile: '\nFROM scratch\n# warning: \'copy\' should match command majority\'s casing (uppercase)\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n', warnings: [casing('copy', 'uppercase', 4)] },
        { dockerfile: '\n# warning: \'frOM\' should be either lowercased or uppercased\n#\nfrOM scratch as base\nfrom scratch as base2\n', warnings: [casing('frOM', 'lowercase', 4)] },
        { dockerfile: '\nfrom scratch\n# warning: \'COPY\' should match command majority\'s casing (lowercase)\nCOPY Dockerfile /foo\ncopy Dockerfile /bar\n', warnings: [casing('COPY', 'lowercase', 4)] },
        { dockerfile: '\n# warning: \'from\' should match command majority\'s casing (uppercase)\n#\nfrom scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\nCOPY Dockerfile /baz\n', warnings: [casing('from', 'uppercase', 4)] },
        { dockerfile: '\n# warning: \'FROM\' should match command majority\'s casing (lowercase)\n#\nFROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n', warnings: [casing('FROM', 'lowercase', 4)] },
        { dockerfile: '\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n' },
        { dockerfile: '\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n' },
        { dockerfile: '\nFROM alpine\nRUN <<\'EOT\'\nenv\nEOT\n' },
      ]);
    });

    it('testDuplicateStageName: a second stage of one name, and none with two names', async () => {
      await checkAll([
        { dockerfile: '\nFROM scratch AS b\nFROM scratch AS b\n', warnings: [w('DuplicateStageName', 'Duplicate stage name "b", stage names should be unique', 3)] },
        { dockerfile: '\nFROM scratch AS b1\nFROM scratch AS b2\n' },
      ]);
    });

    it('testReservedStageName: scratch and context as stage names, not as bases', async () => {
      await checkAll([
        {
          dockerfile: '\nFROM scratch AS scratch\nFROM scratch AS context\n',
          warnings: [
            w('ReservedStageName', 'Stage name should not use the same name as reserved stage "scratch"', 2),
            w('ReservedStageName', 'Stage name should not use the same name as reserved stage "context"', 3),
          ],
        },
        { dockerfile: '\nFROM scratch\nFROM scratch AS a\n' },
      ]);
    });

    it('testJSONArgsRecommended: CMD and ENTRYPOINT in shell form, unless a SHELL (here or in the base stage) is set', async () => {
      await checkAll([
        { dockerfile: '\nFROM scratch\nCMD mycommand\n', warnings: [w('JSONArgsRecommended', 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals', 3)] },
        { dockerfile: '\nFROM scratch\nENTRYPOINT mycommand\n', warnings: [w('JSONArgsRecommended', 'JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals', 3)] },
        { dockerfile: '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nCMD mycommand\n' },
        { dockerfile: '\nFROM scratch\nSHELL ["/usr/bin/customshell"]\nENTRYPOINT mycommand\n' },
        { dockerfile: '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nCMD mycommand\n' },
        { dockerfile: '\nFROM scratch AS base\nSHELL ["/usr/bin/customshell"]\n\nFROM base\nENTRYPOINT mycommand\n' },
      ]);
    });

    it('testMaintainerDeprecated: MAINTAINER, a label instead, and # check=skip= above an instruction', async () => {
      await checkAll([
        { dockerfile: '\nFROM scratch\nMAINTAINER me@example.org\n', warnings: [w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 3)] },
        { dockerfile: '\nFROM scratch\nLABEL org.opencontainers.image.authors="me@example.org"\n' },
        { dockerfile: '\nFROM scratch\n# check=skip=JSONArgsRecommended\nCMD mycommand\n' },
        { dockerfile: '\nFROM scratch\n# check=skip=JSONArgsRecommended\nENTRYPOINT mycommand\n' },
        { dockerfile: '\nFROM scratch\n# check=skip=MaintainerDeprecated\nMAINTAINER me@example.org\n' },
      ]);
    });

    it('testWarningsBeforeError: the findings of the lines before an unknown instruction, then its error', async () => {
      await checkAll([{
        dockerfile: '\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\n',
        warnings: [w('StageNameCasing', "Stage name 'BadStageName' should be lowercase", 2), w('MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 3)],
        buildErr: 'dockerfile parse error on line 4: unknown instruction: BADCMD',
        // tsbuild's error names the file, line and column first, and the instruction quoted (STYLE.md's own example).
        tsbuildErr: 'unknown instruction "BADCMD"',
      }]);
    });

    it('testUndeclaredArg: UndefinedArgInFrom, with suggestions, and the build errors of an empty platform', async () => {
      await checkAll([
        { dockerfile: '\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n' },
        { dockerfile: '\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n' },
        { dockerfile: '\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n' },
        { dockerfile: '\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n' },
        { dockerfile: '\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n' },
        { dockerfile: '\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n' },
        {
          dockerfile: '\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n',
          warnings: [w('UndefinedArgInFrom', "FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)", 2)],
          buildErr: 'empty platform value from expression $BULIDPLATFORM (did you mean BUILDPLATFORM?)',
        },
        {
          dockerfile: '\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\nCOPY Dockerfile .\n\t',
          warnings: [w('UndefinedArgInFrom', "FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)", 4)],
          buildErr: 'failed to parse platform linux/${MYARCH}: "" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument (did you mean MY_ARCH?)',
        },
        { dockerfile: '\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n', warnings: [w('UndefinedArgInFrom', "FROM argument 'version' is not declared", 3)] },
      ]);
    });

    it('testWorkdirRelativePath: a relative WORKDIR with no absolute one before it in the stage chain', async () => {
      await checkAll([
        { dockerfile: '\nFROM scratch\nWORKDIR app/\n', warnings: [w('WorkdirRelativePath', 'Relative workdir "app/" can have unexpected results if the base image changes', 3)] },
        { dockerfile: '\nFROM scratch AS a\nWORKDIR /app\n\nFROM a AS b\nWORKDIR subdir/\n' },
        { dockerfile: '\nFROM scratch\n# check=skip=WorkdirRelativePath\nWORKDIR app/\n' },
      ]);
    });

    it('testUnmatchedVars: UndefinedVar, with the base image\'s ENV and suggestions', async () => {
      const undefinedVar = (detail: string, line: number): Expected => w('UndefinedVar', detail, line);
      await checkAll([
        { dockerfile: '\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n' },
        { dockerfile: '\nFROM alpine AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n' },
        { dockerfile: '\nFROM alpine\nRUN echo $PATH\n' },
        { dockerfile: '\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n', warnings: [undefinedVar("Usage of undefined variable '$foo'", 3)] },
        {
          dockerfile: '\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n\t',
          warnings: [undefinedVar("Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)", 6)],
        },
        { dockerfile: '\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n\t\t', warnings: [undefinedVar("Usage of undefined variable '$PAHT' (did you mean $PATH?)", 3)] },
      ]);
    });

    it('testMultipleInstructionsDisallowed: ENTRYPOINT, CMD and HEALTHCHECK twice in a stage, not across stages', async () => {
      const twice = (instruction: string, line: number): Expected =>
        w('MultipleInstructionsDisallowed', `Multiple ${instruction} instructions should not be used in the same stage because only the last one will be used`, line);
      await checkAll([
        {
          dockerfile: '\nFROM scratch\nENTRYPOINT ["/myapp"]\nENTRYPOINT ["/myotherapp"]\nCMD ["/myapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
          warnings: [twice('ENTRYPOINT', 3), twice('CMD', 5), twice('HEALTHCHECK', 7)],
        },
        {
          dockerfile: '\nFROM scratch\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\nCOPY <<EOF /a.txt\nHello, World!\nEOF\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n',
          warnings: [twice('ENTRYPOINT', 3), twice('CMD', 4), twice('HEALTHCHECK', 5)],
        },
        { dockerfile: '\nFROM scratch AS a\nENTRYPOINT ["/myapp"]\nCMD ["/myapp"]\nHEALTHCHECK CMD ["/myapp"]\n\nFROM a AS b\nENTRYPOINT ["/myotherapp"]\nCMD ["/myotherapp"]\nHEALTHCHECK CMD ["/myotherapp"]\n' },
      ]);
    });

    it('testLegacyKeyValueFormat: ENV and LABEL as `key value`, in a built stage and in one no build reaches', async () => {
      const legacy = (instruction: string, line: number): Expected =>
        w('LegacyKeyValueFormat', `"${instruction} key=value" should be used instead of legacy "${instruction} key value" format`, line);
      await checkAll([
        { dockerfile: '\nFROM scratch\nENV testkey value\nLABEL key value\n', warnings: [legacy('ENV', 3), legacy('LABEL', 4)] },
        { dockerfile: '\nFROM scratch\nENV testkey=value\nLABEL key=value\n' },
        { dockerfile: '\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n# check=skip=LegacyKeyValueFormat\nLABEL key value\n' },
      ]);
      // A stage no build reaches: the build does not report its instructions, the lint (which converts every stage)
      // does. BuildKit's test writes lines 3 and 4 for them, but its checkLintWarning never compares a lint result's
      // line; they are on lines 5 and 6, and this port checks that too.
      await checkLinterWarnings({
        dockerfile: '\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n',
        unmarshalWarnings: [legacy('ENV', 5), legacy('LABEL', 6)],
      });
    });

    it('testRedundantTargetPlatform: --platform=$TARGETPLATFORM and ${TARGETPLATFORM} in FROM', async () => {
      await checkAll([
        { dockerfile: '\nFROM --platform=$TARGETPLATFORM scratch\n', warnings: [w('RedundantTargetPlatform', 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior', 2)] },
        { dockerfile: '\nFROM --platform=${TARGETPLATFORM} scratch\n', warnings: [w('RedundantTargetPlatform', 'Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior', 2)] },
        { dockerfile: '\n# check=skip=RedundantTargetPlatform\nFROM --platform=$TARGETPLATFORM scratch\n' },
      ]);
    });

    it('testSecretsUsedInArgOrEnv: secret-looking ARG and ENV names, and # check=skip= above one instruction', async () => {
      const secret = (what: string, line: number): Expected => w('SecretsUsedInArgOrEnv', `Do not use ARG or ENV instructions for sensitive data (${what})`, line);
      await checkAll([{
        dockerfile: [
          '# check=skip=InvalidDefinitionDescription', '', 'FROM scratch', 'ARG SECRET_PASSPHRASE', 'ENV SUPER_Secret=foo', 'ENV password=bar secret=baz',
          'ARG super_duper_secret_token=foo auth=bar', 'ENV apikey=bar sunflower=foo', 'ENV git_key=', 'ENV PUBLIC_KEY=', 'ARG public_token',
          'ARG SECRET_PASSPHRASE_FILE', 'ENV password_file=bar secret_File=baz', 'ARG AUTH_MODULE_VERSION',
          '# check=skip=SecretsUsedInArgOrEnv // allow secret in environment', 'ENV password=bar',
          '# check=skip=SecretsUsedInArgOrEnv // allow secret in arg', 'ARG password',
          '# check=skip=all // is local to only this instruction', 'ENV alternate_password=bar',
          '# check=skip=all // is local to only this instruction', 'ARG alternate_password', '',
        ].join('\n'),
        warnings: [
          secret('ARG "SECRET_PASSPHRASE"', 4), secret('ENV "SUPER_Secret"', 5), secret('ENV "password"', 6), secret('ENV "secret"', 6),
          secret('ARG "auth"', 7), secret('ARG "super_duper_secret_token"', 7), secret('ENV "apikey"', 8), secret('ENV "git_key"', 9),
        ],
      }]);
    });

    it('testInvalidDefaultArgInFrom: a FROM that names no valid image with the global ARGs\' defaults only', async () => {
      const invalid = (from: string): Expected => w('InvalidDefaultArgInFrom', `Default value for ARG ${from} results in empty or invalid base image name`, 3);
      await checkAll([
        { dockerfile: '\nARG VERSION\nFROM busybox:$VERSION\n', frontendAttrs: { 'build-arg:VERSION': 'latest' }, warnings: [invalid('busybox:$VERSION')] },
        { dockerfile: '\nARG IMAGE\nFROM $IMAGE\n', frontendAttrs: { 'build-arg:IMAGE': 'busybox:latest' }, warnings: [invalid('$IMAGE')] },
        { dockerfile: '\nARG SFX="box:"\nFROM busy${SFX}\n', frontendAttrs: { 'build-arg:SFX': 'box:latest' }, warnings: [invalid('busy${SFX}')] },
        { dockerfile: '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n', frontendAttrs: { 'build-arg:VERSION': 'latest' } },
        { dockerfile: '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n', frontendAttrs: { 'build-arg:BUSYBOX_VARIANT': '-musl' } },
        { dockerfile: '\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t', frontendAttrs: { 'build-arg:BUSYBOX_VARIANT': '-musl' } },
      ]);
    });

    it('testFromPlatformFlagConstDisallowed: a constant --platform, unless the stage\'s name says which', async () => {
      await checkAll([
        { dockerfile: '\nFROM --platform=linux/amd64 scratch\n', warnings: [w('FromPlatformFlagConstDisallowed', 'FROM --platform flag should not use constant value "linux/amd64"', 2)] },
        { dockerfile: '\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n' },
        { dockerfile: '\nFROM --platform=linux/amd64 scratch AS linux\n' },
      ]);
    });

    it('testCopyIgnoredFileContextRoot: COPY . . is an ignored file only when every root entry is excluded', async () => {
      await checkAll([
        { dockerfile: '\nFROM scratch\nCOPY . .\n', dockerignore: '\n.*\n' },
        { dockerfile: '\nFROM scratch\nCOPY . .\n', dockerignore: '\n*\n', warnings: [w('CopyIgnoredFile', 'Attempting to Copy file "." that is excluded by .dockerignore', 3)] },
      ]);
    });

    it('testExposeProtoCasing: an upper-case protocol in EXPOSE', async () => {
      await checkAll([{
        dockerfile: '\nFROM scratch\nEXPOSE 80/TcP 8080/TCP 8080/udp\n',
        warnings: [w('ExposeProtoCasing', "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase", 3), w('ExposeProtoCasing', "Defined protocol '8080/TCP' in EXPOSE instruction should be lowercase", 3)],
      }]);
    });

    it('testExposeInvalidFormat: an IP address or a host port in EXPOSE', async () => {
      const invalid = (port: string): Expected => w('ExposeInvalidFormat', `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`, 3);
      await checkAll([{
        dockerfile: '\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n',
        warnings: [invalid('127.0.0.1:80:80'), invalid('[::1]:8080:8080'), invalid('5000:5000')],
      }]);
    });

    it('testBaseImagePlatformMismatch: a base image only for another platform than the build\'s', async () => {
      // BuildKit pushes the image for the platform that is not the host's, then builds on it for the host's.
      const [other, current] = process.arch === 'arm64' ? ['linux/amd64', 'linux/arm64'] : ['linux/arm64', 'linux/amd64'];
      const target = `${host}/buildkit/testbaseimageplatform:latest`;
      ok(await build(['--platform', other, '--push', '-t', target, await dirWith({ Dockerfile: '\nFROM scratch\nCOPY foo /foo\n', foo: 'test' })]));
      await checkLinterWarnings({
        dockerfile: `\nFROM ${target}\nENV foo=bar\n\t`,
        warnings: [w('InvalidBaseImagePlatform', `Base image ${target} was pulled with platform "${other}", expected "${current}" for current build`, 2)],
        frontendAttrs: { platform: current },
      });
    });
  });
  describe('dockerfile_source_date_epoch_test.go', () => {
    /** BuildKit's makeTarContext: regular files, 0600, with these mtimes (seconds). */
    const makeTarContext = async (files: { name: string; data: string; modTime: number }[]): Promise<Buffer> => {
      const pack = tar.pack();
      for (const f of files) pack.entry({ name: f.name, mode: 0o600, mtime: new Date(f.modTime * 1000), type: 'file' }, f.data);
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks);
    };
    interface Layout { manifest: { layers: { digest: string; annotations?: Record<string, string> }[] }; config: { created?: string }; blob(digest: string): Promise<Buffer> }
    /** The single-platform image of an OCI layout directory: BuildKit's readOCIManifest and readOCIImageCreated. */
    const readLayout = async (dir: string): Promise<Layout> => {
      const blob = (digest: string): Promise<Buffer> => readFile(join(dir, 'blobs/sha256', digest.replace('sha256:', '')));
      const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const manifest = JSON.parse((await blob(index.manifests[0]?.digest ?? '')).toString()) as Layout['manifest'] & { config: { digest: string } };
      return { manifest, config: JSON.parse((await blob(manifest.config.digest)).toString()) as Layout['config'], blob };
    };
    /** readOCILayerMap: a layer's files by name. */
    const layerFiles = async (layout: Layout, digest: string): Promise<Record<string, string>> => {
      const extract = tar.extract();
      const files: Record<string, string> = {};
      const done = new Promise<void>((resolve, reject) => {
        extract.on('entry', (h, stream, next) => {
          const chunks: Buffer[] = [];
          stream.on('data', (c: unknown) => chunks.push(c as Buffer));
          stream.on('end', () => { files[h.name.replace(/^\.?\//, '')] = Buffer.concat(chunks).toString(); next(); });
        });
        extract.on('finish', resolve);
        extract.on('error', reject);
      });
      Readable.from([gunzipSync(await layout.blob(digest))]).pipe(extract);
      await done;
      return files;
    };
    const created = (layout: Layout): number => Date.parse(layout.config.created ?? '') / 1000;
    const rewritten = (layout: Layout, i = layout.manifest.layers.length - 1): string | undefined => layout.manifest.layers[i]?.annotations?.['buildkit/rewritten-timestamp'];
    /** Builds `args` to an OCI layout directory and reads it. */
    const ociBuild = async (args: string[], cwd: string, attrs = ''): Promise<Layout> => {
      const out = join(env.dir, `oci${++n}`);
      ok(await build(['-o', `type=oci,dest=${out},tar=false${attrs}`, ...args], cwd));
      return readLayout(out);
    };
    const oct21 = Date.UTC(2015, 9, 21, 7, 28, 0) / 1000;

    it('testSourceDateEpochDockerfileDefault: the global ARG\'s default is the epoch rewrite-timestamp clamps to', async () => {
      const layout = await ociBuild(['.'], await dirWith({ Dockerfile: `\nARG SOURCE_DATE_EPOCH=${oct21}\nFROM scratch\nCOPY Dockerfile .\n` }), ',rewrite-timestamp=true');
      expect(layout.manifest.layers).to.have.length(1);
      expect(rewritten(layout)).to.equal(String(oct21));
    });

    it('testSourceDateEpochDockerfileDefaultReset: an empty source-date-epoch= on the output turns the epoch off for it', async () => {
      const layout = await ociBuild(['.'], await dirWith({ Dockerfile: `\nARG SOURCE_DATE_EPOCH=${oct21}\nFROM scratch\nCOPY Dockerfile .\n` }), ',source-date-epoch=,rewrite-timestamp=true');
      expect(layout.manifest.layers).to.have.length(1);
      expect(rewritten(layout)).to.equal(undefined);
    });

    it('testSourceDateEpochDockerfileDefaultInvalid: a default that is no number, context or source is refused', async () => {
      const r = await build(['-o', `type=oci,dest=${join(env.dir, `oci${++n}`)},tar=false`, '.'], await dirWith({ Dockerfile: '\nARG SOURCE_DATE_EPOCH=not-a-timestamp\nFROM scratch\nCOPY Dockerfile .\n' }));
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('invalid SOURCE_DATE_EPOCH: not-a-timestamp');
    });

    it('testSourceDateEpochContextGit: SOURCE_DATE_EPOCH=context of a git context is its commit\'s time', async () => {
      const served = await dirWith({});
      const repo = join(served, 'repo');
      await mkdir(repo);
      await writeFile(join(repo, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n', { mode: 0o600 });
      const commitTime = 1700000101;
      const at = new Date(commitTime * 1000).toISOString();
      const git = promisify(execFile);
      const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.com', GIT_AUTHOR_DATE: at, GIT_COMMITTER_DATE: at };
      for (const args of [['init', '-q', '-b', 'master'], ['add', 'Dockerfile'], ['commit', '-qm', 'msg'], ['update-server-info']]) await git('git', args, { cwd: repo, env: gitEnv });
      const server = await serveDir(served);
      servers.push(server);
      const layout = await ociBuild(['--build-arg', 'SOURCE_DATE_EPOCH=context', `${server.url}/repo/.git`], await dirWith({}));
      expect(created(layout)).to.equal(commitTime);
    });

    it('testSourceDateEpochContextHTTPLastModified: SOURCE_DATE_EPOCH=context of an http context is its Last-Modified', async () => {
      const lastModified = 1700000201;
      const archiveMaxTime = 1700000202;
      const url = await serve({
        'context.tar': await makeTarContext([
          { name: 'Dockerfile', data: 'FROM scratch\nCOPY foo /\n', modTime: archiveMaxTime - 3600 }, { name: 'foo', data: 'bar', modTime: archiveMaxTime },
        ]),
      }, { '/context.tar': lastModified });
      const layout = await ociBuild(['--build-arg', 'SOURCE_DATE_EPOCH=context', `${url}/context.tar`], await dirWith({}));
      expect(created(layout)).to.equal(lastModified);
    });

    it('testSourceDateEpochContextHTTPArchive: without Last-Modified, the archive\'s newest file; RUN reads it as the number', async () => {
      const archiveMaxTime = 1700000302;
      const url = await serve({
        'context.tar': await makeTarContext([
          { name: 'Dockerfile', data: 'FROM busybox\nARG SOURCE_DATE_EPOCH\nRUN echo -n "$SOURCE_DATE_EPOCH" >/epoch\n', modTime: archiveMaxTime - 3600 },
          { name: 'foo', data: 'bar', modTime: archiveMaxTime },
        ]),
      });
      const layout = await ociBuild(['--build-arg', 'SOURCE_DATE_EPOCH=context', `${url}/context.tar`], await dirWith({}), ',rewrite-timestamp=true');
      const last = layout.manifest.layers.at(-1)?.digest ?? '';
      expect(rewritten(layout)).to.equal(String(archiveMaxTime));
      expect((await layerFiles(layout, last))['epoch']).to.equal(String(archiveMaxTime));
      expect(created(layout)).to.equal(archiveMaxTime);
    });

    it('testSourceDateEpochContextLocalUnset: SOURCE_DATE_EPOCH=context of a local context is no epoch, and rewrites nothing', async () => {
      const layout = await ociBuild(['--build-arg', 'SOURCE_DATE_EPOCH=context', '.'], await dirWith({ Dockerfile: 'FROM scratch\nCOPY Dockerfile /\n' }), ',rewrite-timestamp=true');
      expect(layout.manifest.layers).to.have.length(1);
      expect(rewritten(layout)).to.equal(undefined);
    });

    it('testSourceDateEpochStageHTTPArchive: a stage that only ADDs an archive is the epoch, its newest file\'s time', async () => {
      const archiveMaxTime = 1700000402;
      const url = await serve({ 'src.tar': await makeTarContext([{ name: 'foo', data: 'bar', modTime: archiveMaxTime }]) });
      const dockerfile = `\nARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nADD ${url}/src.tar /\nFROM busybox\nARG SOURCE_DATE_EPOCH\nRUN echo -n "$SOURCE_DATE_EPOCH" >/epoch\n`;
      const layout = await ociBuild(['.'], await dirWith({ Dockerfile: dockerfile }), ',rewrite-timestamp=true');
      expect(rewritten(layout)).to.equal(String(archiveMaxTime));
      expect((await layerFiles(layout, layout.manifest.layers.at(-1)?.digest ?? ''))['epoch']).to.equal(String(archiveMaxTime));
      expect(created(layout)).to.equal(archiveMaxTime);
    });

    it('testSourceDateEpochStageOverride: the build arg wins over a default that names a stage', async () => {
      const url = await serve({ 'src.tar': await makeTarContext([{ name: 'foo', data: 'bar', modTime: 1700000501 }]) });
      const dockerfile = `\nARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nADD ${url}/src.tar /\nFROM scratch\nCOPY Dockerfile .\n`;
      const layout = await ociBuild(['--build-arg', 'SOURCE_DATE_EPOCH=1700000502', '.'], await dirWith({ Dockerfile: dockerfile }), ',rewrite-timestamp=true');
      expect(layout.manifest.layers).to.have.length(1);
      expect(rewritten(layout)).to.equal('1700000502');
    });

    it('testSourceDateEpochStageInvalid: a stage that does more than ADD one source is refused', async () => {
      const r = await build(['-o', `type=oci,dest=${join(env.dir, `oci${++n}`)},tar=false`, '.'],
        await dirWith({ Dockerfile: '\nARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nCOPY Dockerfile /Dockerfile\nFROM scratch\n' }));
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('SOURCE_DATE_EPOCH stage does not meet source-only requirements');
    });

    it('testSourceDateEpochNamedContextHTTPLastModified: a named context\'s Last-Modified, named by the default', async () => {
      const lastModified = 1700000601;
      const url = await serve({ 'src.tar': await makeTarContext([{ name: 'foo', data: 'bar', modTime: lastModified + 3600 }]) }, { '/src.tar': lastModified });
      const layout = await ociBuild(['--build-context', `mysource=${url}/src.tar`, '.'],
        await dirWith({ Dockerfile: '\nARG SOURCE_DATE_EPOCH=mysource\nFROM scratch\nCOPY Dockerfile .\n' }), ',rewrite-timestamp=true');
      expect(layout.manifest.layers).to.have.length(1);
      expect(rewritten(layout)).to.equal(String(lastModified));
      expect(created(layout)).to.equal(lastModified);
    });

    it('testReproSourceDateEpoch: rewrite-timestamp reproduces a pushed image exactly, after a prune and in another root', async () => {
      // BuildKit pins digests of images built on Docker Hub's debian:bullseye by its own snapshotters: not
      // portable. The port builds on the busybox fixture and asserts what those digests stand for: the same image
      // again after pruning every cache record, and from a fresh root. The rest is BuildKit's test.
      const tm = 1673354096;   // 2023-01-10T12:34:56Z
      const base = `${host}/library/busybox:single`;
      const baseConfig = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${base}`])).stdout) as { history: { created: string }[] };
      const baseManifest = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${base}`])).stdout) as { layers: { digest: string }[] };
      const cases = [
        {
          name: 'Basic',
          dockerfile: `FROM ${base}\nRUN touch /foo\nRUN touch /foo.1\nRUN touch -d '2010-01-01 12:34:56' /foo-2010\nRUN touch -d '2010-01-01 12:34:56' /foo-2010.1\n`
            + "RUN touch -d '2030-01-01 12:34:56' /foo-2030\nRUN touch -d '2030-01-01 12:34:56' /foo-2030.1\nRUN rm -f /foo.1\nRUN rm -f /foo-2010.1\nRUN rm -f /foo-2030.1\n",
        },
        { name: 'CopyLink', dockerfile: `FROM ${base}\nCOPY --link foo foo\n`, files: { foo: 'foo' } },
        { name: 'NoAdditionalLayer', dockerfile: `FROM ${base}\n`, noCacheExport: true },
      ];
      const manifestOf = async (ref: string): Promise<{ digest: string; manifest: { layers: { digest: string; annotations?: Record<string, string> }[] }; config: { history: { created: string }[] } }> => {
        const raw = (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout;
        const config = JSON.parse((await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout) as { history: { created: string }[] };
        const { createHash } = await import('node:crypto');
        return { digest: `sha256:${createHash('sha256').update(raw).digest('hex')}`, manifest: JSON.parse(raw) as { layers: { digest: string; annotations?: Record<string, string> }[] }, config };
      };
      for (const tc of cases) {
        const ctx = await dirWith({ Dockerfile: tc.dockerfile, ...(tc.files ?? {}) });
        const target = `${host}/buildkit/testreprosourcedateepoch-${tc.name.toLowerCase()}:${tm}`;
        const caseRoot = join(env.dir, `root-${tc.name}`);
        const solve = (at: string, rewrite = true): Promise<CliResult> => cli(['build', '--root', at, '--progress', 'plain', '--provenance', 'false',
          '--build-arg', `SOURCE_DATE_EPOCH=${tm}`, '--platform', 'linux/amd64',
          '-o', `type=image,name=${target},push=true,oci-mediatypes=true${rewrite ? ',rewrite-timestamp=true' : ''}`,
          '--cache-to', `type=registry,ref=${target}-cache,oci-mediatypes=true`, ctx]);
        ok(await solve(caseRoot));
        const first = await manifestOf(target);
        // Image history from the base config must remain immutable.
        baseConfig.history.forEach((h, i) => expect(first.config.history[i]?.created, tc.name).to.equal(h.created));
        // Image layers, except the base layers, must have rewritten-timestamp.
        for (const [i, l] of first.manifest.layers.entries()) {
          if (i < baseManifest.layers.length) {
            expect(l.annotations?.['buildkit/rewritten-timestamp'], tc.name).to.equal(undefined);
            expect(l.digest).to.equal(baseManifest.layers[i]?.digest);
          } else {
            expect(l.annotations?.['buildkit/rewritten-timestamp'], tc.name).to.equal(String(tm));
          }
        }
        if (!tc.noCacheExport) {
          // Cache layers must not have rewritten-timestamp.
          const cache = await manifestOf(`${target}-cache`);
          for (const l of cache.manifest.layers) expect(l.annotations?.['buildkit/rewritten-timestamp'], tc.name).to.equal(undefined);
        }
        // Build again, after pruning every cache record (BuildKit's ensurePruneAll), and from a root that never built it.
        ok(await cli(['prune', '--root', caseRoot, '--all', '--force']));
        ok(await solve(caseRoot));
        expect((await manifestOf(target)).digest, `${tc.name} after prune`).to.equal(first.digest);
        ok(await solve(join(env.dir, `root-${tc.name}-2`)));
        expect((await manifestOf(target)).digest, `${tc.name} in another root`).to.equal(first.digest);
        // Build again, but without rewrite-timestamp.
        ok(await solve(caseRoot, false));
        const plain = await manifestOf(target);
        baseConfig.history.forEach((h, i) => expect(plain.config.history[i]?.created, tc.name).to.equal(h.created));
        for (const l of plain.manifest.layers) expect(l.annotations?.['buildkit/rewritten-timestamp'], tc.name).to.equal(undefined);
      }
    });

    it('testSourceDateEpochNamedContextHTTPArchive: a named context without Last-Modified: its archive\'s newest file', async () => {
      const archiveMaxTime = 1700000602;
      const url = await serve({ 'src.tar': await makeTarContext([{ name: 'foo', data: 'bar', modTime: archiveMaxTime }]) });
      const layout = await ociBuild(['--build-context', `mysource=${url}/src.tar`, '.'],
        await dirWith({ Dockerfile: '\nARG SOURCE_DATE_EPOCH=mysource\nFROM busybox\nARG SOURCE_DATE_EPOCH\nRUN echo -n "$SOURCE_DATE_EPOCH" >/epoch\n' }), ',rewrite-timestamp=true');
      expect(rewritten(layout)).to.equal(String(archiveMaxTime));
      expect((await layerFiles(layout, layout.manifest.layers.at(-1)?.digest ?? ''))['epoch']).to.equal(String(archiveMaxTime));
      expect(created(layout)).to.equal(archiveMaxTime);
    });
  });
  describe('dockerfile_platform_test.go', () => {
    /** The images of an index (or one manifest) in the registry: each one's index platform and config. */
    const readImages = async (ref: string): Promise<{ platform?: Record<string, string>; config: Record<string, unknown> }[]> => {
      const inspect = async (args: string[]): Promise<string> => {
        const r = await run('skopeo', ['inspect', '--tls-verify=false', ...args]);
        expect(r.code, r.stderr).to.equal(0);
        return r.stdout;
      };
      const top = JSON.parse(await inspect(['--raw', `docker://${ref}`])) as { manifests?: { digest: string; platform?: Record<string, string> }[] };
      const repo = ref.replace(/:[^:/]+$/, '');
      const entries = top.manifests ?? [{ digest: '' }];
      return Promise.all(entries.map(async (m) => ({
        ...(m.platform ? { platform: m.platform } : {}),
        config: JSON.parse(await inspect(['--config', '--raw', `docker://${m.digest === '' ? ref : `${repo}@${m.digest}`}`])) as Record<string, unknown>,
      })));
    };

    it('testPlatformWithOSVersion: windows(1.2.3)/bar and windows(1.1.0)/bar are two platforms, TARGETOSVERSION each; a pull picks by version', async () => {
      // BuildKit gives the frontend attribute `platform` both; buildx's --platform would fold them into one (its Dedupe
      // keys by platforms.Format), tsbuild's keeps both, as BuildKit builds them.
      const [p1, p2] = ['windows(1.2.3)/bar', 'windows(1.1.0)/bar'];
      const target = `${host}/buildkit/testplatformwithosversion:latest`;
      const ctx = await dirWith({ Dockerfile: `\nFROM ${target} AS reg\n\nFROM scratch AS base\nARG TARGETOSVERSION\nCOPY <<EOF /osversion\n\${TARGETOSVERSION}\nEOF\nARG TARGETPLATFORM\nCOPY <<EOF /targetplatform\n\${TARGETPLATFORM}\nEOF\n` });
      const dest = join(env.dir, `out${++n}`);
      ok(await build(['--platform', `${p1},${p2}`, '--target', 'base', '-o', `type=local,dest=${dest}`, '-o', `type=image,name=${target},push=true`, ctx]));
      const images = await readImages(target);
      expect(images.map((i) => i.config['os.version'])).to.deep.equal(['1.2.3', '1.1.0']);
      for (const [p, version] of [[p1, '1.2.3'], [p2, '1.1.0']] as const) {
        expect(await readFile(join(dest, p.replace('/', '_'), 'osversion'), 'utf8')).to.equal(`${version}\n`);
        expect(await readFile(join(dest, p.replace('/', '_'), 'targetplatform'), 'utf8')).to.equal(`${p}\n`);
      }
      for (const [p, version] of [[p1, '1.2.3'], [p2, '1.1.0']] as const) {
        const out = join(env.dir, `out${++n}`);
        ok(await build(['--platform', p, '--target', 'reg', '-o', `type=local,dest=${out}`, ctx]));
        expect(await readFile(join(out, 'osversion'), 'utf8'), p).to.equal(`${version}\n`);
      }
    });

    it('testMaintainBaseOSVersion: a child built for windows/amd64 keeps its base image\'s OS version', async () => {
      const target = `${host}/buildkit/testplatformwithosversion-1:latest`;
      ok(await build(['--platform', 'windows(10.0.20348.1006)/amd64', '-o', `type=image,name=${target},push=true`,
        await dirWith({ Dockerfile: '\nFROM scratch\nARG TARGETPLATFORM\nCOPY <<EOF /platform\n${TARGETPLATFORM}\nEOF\n' })]));
      const base = await readImages(target);
      expect(base.map((i) => i.config['os.version'])).to.deep.equal(['10.0.20348.1006']);
      const target2 = `${host}/buildkit/testplatformwithosversion-2:latest`;
      ok(await build(['--platform', 'windows/amd64', '-o', `type=image,name=${target2},push=true`, await dirWith({ Dockerfile: `\nFROM ${target}\nCOPY <<EOF /other\nhello\nEOF\n` })]));
      const child = await readImages(target2);
      expect(child.map((i) => i.config['os.version'])).to.deep.equal(['10.0.20348.1006']);
    });
  });
  describe('dockerfile_resources_test.go', () => {
    it('testCgroupParent: RUN runs under --cgroup-parent (its pids.max limits the step), which the step does not see', async () => {
      // BuildKit's test needs cgroup v2 and skips on v1; tsbuild puts the step at PARENT/tsbuild/STEP in every
      // hierarchy, so on a v1 host the limit is set in the pids hierarchy's PARENT.
      const cgroupName = `test.${process.pid}.${++n}`;
      const isV2 = await readFile('/sys/fs/cgroup/cgroup.subtree_control').then(() => true, () => false);
      const limited = isV2 ? join('/sys/fs/cgroup', cgroupName) : join('/sys/fs/cgroup/pids', cgroupName);
      await mkdir(limited);
      try {
        await writeFile(join(limited, 'pids.max'), '10');
        const dest = join(env.dir, `out${++n}`);
        ok(await build(['--cgroup-parent', cgroupName, '-o', `type=local,dest=${dest}`, await dirWith({
          Dockerfile: '\nFROM alpine AS base\nRUN mkdir /out; (for i in $(seq 1 10); do sleep 1 & done 2>/out/error); cat /proc/self/cgroup > /out/cgroup\nFROM scratch\nCOPY --from=base /out /\n',
        })]));
        // cgroupns does not leak the parent cgroup name (BuildKit's test looks for a name it never made, `foocgroup`).
        expect((await readFile(join(dest, 'cgroup'), 'utf8')).trim()).to.not.contain(cgroupName);
        expect((await readFile(join(dest, 'error'), 'utf8')).trim()).to.contain('Resource temporarily unavailable');
      } finally {
        // tsbuild leaves PARENT/tsbuild in each hierarchy it made a step's cgroup in (its steps' own are gone).
        const hierarchies = isV2 ? ['/sys/fs/cgroup'] : (await readdir('/sys/fs/cgroup')).map((h) => join('/sys/fs/cgroup', h));
        for (const h of hierarchies) {
          await rmdir(join(h, cgroupName, 'tsbuild')).catch(() => undefined);
          await rmdir(join(h, cgroupName)).catch(() => undefined);
        }
      }
    });
  });
  describe('dockerfile_onbuild_test.go', () => {
    it('testOnBuildNamedContext: an OCI-layout named context\'s trigger copies from a stage only it names', async () => {
      const ocidir = join(env.dir, `oci${++n}`);
      ok(await build(['-o', `type=oci,dest=${ocidir},tar=false`, await dirWith({ Dockerfile: '\n\tFROM busybox:latest\n\tONBUILD COPY --from=otherstage /testfile /out/foo\n\t' })]));
      const index = JSON.parse(await readFile(join(ocidir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      expect(index.manifests).to.have.length(1);
      const dest = join(env.dir, `out${++n}`);
      ok(await build(['--build-context', `base=oci-layout://${ocidir}@${index.manifests[0]?.digest ?? ''}`, '-o', `type=local,dest=${dest}`, await dirWith({
        Dockerfile: '\n\t\tFROM alpine AS otherstage\n\t\tRUN echo -n "hello" > /testfile\n\n\t\tFROM base AS inputstage\n\n\t\tFROM scratch\n\t\tCOPY --from=inputstage /out/foo /bar\n\t',
      })]));
      expect(await readFile(join(dest, 'bar'), 'utf8')).to.equal('hello');
    });

    it('testOnBuildNewDeps: triggers that read an image and a stage the Dockerfile never names, nested', async () => {
      const target = `${host}/buildkit/testonbuilddeps:base`;
      ok(await build(['-o', `type=image,name=${target},push=true`, await dirWith({ Dockerfile: '\nFROM busybox\nONBUILD COPY --from=alpine /etc/alpine-release /out/alpine-release2\n' })]));
      let dest = join(env.dir, `out${++n}`);
      ok(await build(['-o', `type=local,dest=${dest}`, await dirWith({ Dockerfile: `\n\tFROM ${target} AS base\n\tRUN cat /out/alpine-release2 > /out/alpine-release3\n\tFROM scratch\n\tCOPY --from=base /out /\n\t` })]));
      expect((await readFile(join(dest, 'alpine-release3'), 'utf8')).length).to.be.greaterThan(5);
      // A second base whose trigger mounts a stage named inputstage, which is itself built on the first base.
      const target2 = `${host}/buildkit/testonbuilddeps:base2`;
      ok(await build(['-o', `type=image,name=${target2},push=true`, await dirWith({
        Dockerfile: '\nFROM alpine\nONBUILD RUN --mount=type=bind,target=/in,from=inputstage mkdir /out && cat /in/foo > /out/bar && cat /in/out/alpine-release2 > /out/bar2\n',
      })]));
      dest = join(env.dir, `out${++n}`);
      ok(await build(['-o', `type=local,dest=${dest}`, await dirWith({
        Dockerfile: `\n\tFROM ${target} AS inputstage\n\tRUN cat /out/alpine-release2 > /out/alpine-release4\n\tRUN echo -n foo > /foo\n\tFROM ${target2} AS base\n\tRUN echo -n bar3 > /out/bar3\n\tFROM scratch\n\tCOPY --from=base /out /\n\t`,
      })]));
      expect(await readFile(join(dest, 'bar'), 'utf8')).to.equal('foo');
      expect((await readFile(join(dest, 'bar2'), 'utf8')).length).to.be.greaterThan(5);
      expect(await readFile(join(dest, 'bar3'), 'utf8')).to.equal('bar3');
    });
  });
  describe('dockerfile_provenance_test.go', () => {
    it('testCommandSourceMapping: max provenance maps every step to one Dockerfile line, and every line to a step', async () => {
      const dockerfile = 'FROM alpine\nRUN echo "hello" > foo\nWORKDIR /tmp\nCOPY foo foo2\nCOPY --link foo foo3\nADD bar bar';
      const target = `${host}/buildkit/testsourcemappingprov:latest`;
      ok(await cli(['build', '--root', root, '--progress', 'plain', '--provenance', 'mode=max', '-o', `type=image,name=${target},push=true`,
        await dirWith({ Dockerfile: dockerfile, foo: 'data', bar: 'data2' })]));
      const raw = (ref: string): Promise<string> => run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]).then((r) => r.stdout);
      const index = JSON.parse(await raw(target)) as { manifests: { digest: string; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }[] };
      expect(index.manifests).to.have.length(2);
      const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
      const image = index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
      const att = index.manifests.find((m) => m.annotations?.['vnd.docker.reference.digest'] === image?.digest);
      const attManifest = JSON.parse(await raw(`${target.replace(/:latest$/, '')}@${att?.digest ?? ''}`)) as { layers: { digest: string }[] };
      // skopeo reads manifests, not blobs: the statement from the registry's blob endpoint.
      const res = await fetch(`http://${host}/v2/buildkit/testsourcemappingprov/blobs/${attManifest.layers[0]?.digest ?? ''}`);
      type Step = { id: string };
      type Locations = { locations?: { ranges?: { start: { line: number }; end: { line: number } }[] }[] };
      const stmt = await res.json() as { predicate: { buildDefinition: { internalParameters: { buildConfig: { llbDefinition: Step[] } } }; runDetails: { metadata: { buildkit_metadata: { source: { locations: Record<string, Locations> } } } } } };
      const def = stmt.predicate.buildDefinition.internalParameters.buildConfig.llbDefinition;
      const steps = new Map(def.map((step) => [step.id, step]));
      expect(steps.size, 'step IDs are unique').to.equal(def.length);
      const lines = new Array<boolean>(dockerfile.split('\n').length).fill(false);
      for (const [id, loc] of Object.entries(stmt.predicate.runDetails.metadata.buildkit_metadata.source.locations)) {
        const step = steps.get(id);
        expect(step, `definition for step ${id}`).to.not.equal(undefined);
        const locations = loc.locations ?? [];
        // BuildKit lets only its context upload (a local://context source op) go without a place in the Dockerfile;
        // tsbuild reads the context inside each COPY step and has no such step, so every step has exactly one.
        expect(locations, `step ${id} has no location or more than one`).to.have.length(1);
        for (const l of locations) {
          for (const r of l.ranges ?? []) {
            expect(r.end.line, `step ${id} has a range over several lines`).to.equal(r.start.line);
            expect(r.start.line - 1, `step ${id} has an invalid range`).to.be.within(0, lines.length - 1);
            lines[r.start.line - 1] = true;
          }
        }
      }
      lines.forEach((covered, i) => expect(covered, `line ${i + 1} is not covered`).to.equal(true));
    });
  });
});
