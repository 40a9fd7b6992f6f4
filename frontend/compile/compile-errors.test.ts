import { expect } from 'chai';
import type { CompileOptions } from './options.js';
import { build, copy, images, rejects, vertex } from './compile-fixtures.js';

describe('compile: errors', () => {
  const table: [string, string, Partial<CompileOptions>, number, number][] = [
    ['an unknown --target', 'FROM alpine AS a\n', { target: 'b' }, 1, 1],
    ['an instruction before FROM', 'RUN x\nFROM alpine\n', {}, 1, 1],
    ['a file without FROM', 'ARG A=1\n', {}, 1, 1],
    ['a stage copying from itself', 'FROM alpine AS a\nCOPY --from=a /x /y\n', {}, 2, 1],
    // BuildKit dispatches stages in file order: a --from naming a later stage is refused (so no cycle can form).
    ['a --from naming a stage defined after it', 'FROM alpine AS a\nCOPY --from=b /x /y\nFROM alpine AS b\nCOPY --from=a /x /y\n', {}, 2, 6],
    ['an invalid stage index', 'FROM alpine\nCOPY --from=7 /x /y\n', {}, 2, 6],
    ['a variable in --from', 'FROM alpine\nARG S=a\nCOPY --from=$S /x /y\n', {}, 3, 6],
    ['a bad --mount', 'FROM alpine\nRUN --mount=type=nfs,target=/x make\n', {}, 2, 5],
    ['a mount key that does not exist', 'FROM alpine\nRUN --mount=type=cache,tagret=/x make\n', {}, 2, 5],
    // BuildKit splits --mount with csvvalue.Fields (commands_runmount.go parseMount): an empty field is no key=value.
    ['an empty field in --mount', 'FROM alpine\nRUN --mount=type=cache,,target=/x make\n', {}, 2, 5],
    ['a bad --network', 'FROM alpine\nRUN --network=bridge make\n', {}, 2, 5],
    ['a bad ${} in ENV', 'FROM alpine\nENV A=${B\n', {}, 2, 7],
    ['an invalid --platform', 'FROM --platform=no/such/platform/here alpine\n', {}, 1, 17],
    ['a bad HEALTHCHECK duration', 'FROM alpine\nHEALTHCHECK --interval=soon CMD true\n', {}, 2, 24],
    ['a bad --chmod', 'FROM alpine\nCOPY --chmod=999 a b\n', {}, 2, 14],
  ];
  for (const [name, text, opts, line, column] of table) {
    it(`rejects ${name} at ${line}:${column}`, async () => {
      const err = await rejects(text, opts);
      expect(err.code).to.equal('DOCKERFILE_SYNTAX');
      expect(err.at).to.deep.include({ line, column });
    });
  }

  it('refuses a FROM --platform that names no platform in BuildKit\'s words, with the ARG it may have meant (testUndeclaredArg)', async () => {
    const empty = await rejects('FROM --platform=$BULIDPLATFORM scratch\n');
    expect(empty.detail).to.equal('empty platform value from expression $BULIDPLATFORM (did you mean BUILDPLATFORM?)');
    const bad = await rejects('ARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} scratch\n');
    expect(bad.detail).to.equal('failed to parse platform linux/${MYARCH}: "" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument (did you mean MY_ARCH?)');
    expect(bad.at).to.deep.include({ line: 2, column: 17 });
  });

  it('refuses a quote inside an unquoted --mount field and a space before a key, as csvvalue and BuildKit\'s parseMount do', async () => {
    // The flag's own quotes and escapes are gone before the value is split: these reach it as target="/x" and ` target`.
    const quote = await rejects('FROM alpine\nRUN --mount=type=cache,target=\\"/x\\" make\n');
    expect(quote.message).to.contain('failed to parse csv mounts: parse error on line 1, column 19: bare " in non-quoted-field');
    const space = await rejects('FROM alpine\nRUN --mount=type=cache,\\ target=/x make\n');
    expect(space.message).to.contain('unexpected key \' target\'');
    for (const err of [quote, space]) expect(err.at).to.deep.include({ line: 2 });
  });

  it('reports a heredoc marker with an unterminated quote as a path that does not expand, not a crash', async () => {
    const err = await rejects("FROM alpine\nCOPY <<'x /y\n");
    expect(err.at).to.deep.include({ line: 2, column: 6 });
  });

  it('suggests the nearest stage name for a mistyped --target', async () => {
    expect((await rejects('FROM alpine AS builder\nFROM alpine AS final\n', { target: 'buidler' })).hint).to.match(/builder/);
  });
});

describe('compile: ONBUILD triggers', () => {
  it('runs the base stage ONBUILD triggers first, at the FROM line, and clears them', async () => {
    const { graph } = await build('FROM alpine AS base\nONBUILD COPY . /app\nONBUILD RUN make\nFROM base\nRUN test\n');
    expect(graph.stages[1]?.vertices.slice(1).map((id) => vertex(graph, id).text)).to.deep.equal(['COPY . /app # buildkit', 'RUN /bin/sh -c make # buildkit', 'RUN /bin/sh -c test # buildkit']);
    expect(vertex(graph, 's1.1').location?.line).to.equal(4);
    expect(graph.stages[1]?.config.OnBuild).to.equal(undefined);
    expect(graph.stages[0]?.config.OnBuild).to.deep.equal(['COPY . /app', 'RUN make']);
  });

  it('runs ONBUILD triggers recorded in a base image config', async () => {
    images['onbuild-base'] = { OnBuild: ['WORKDIR /src', 'COPY . .'] };
    try {
      const { graph } = await build('FROM onbuild-base\nRUN ls\n');
      expect(graph.vertices.map((v) => v.text)).to.deep.equal(['FROM docker.io/library/onbuild-base', 'WORKDIR /src', 'COPY . . # buildkit', 'RUN /bin/sh -c ls # buildkit']);
      expect(copy(graph, 's0.2').dest).to.equal('/src/');
    } finally {
      delete images['onbuild-base'];
    }
  });

  it('plans and resolves what a base image\'s triggers read that the Dockerfile does not name (testOnBuildNewDeps, testOnBuildNamedContext)', async () => {
    images['onbuild-copy'] = { OnBuild: ['COPY --from=busybox /bin/busybox /out/busybox'] };
    images['onbuild-mount'] = { OnBuild: ['RUN --mount=type=bind,target=/in,from=inputstage cat /in/foo > /out/bar'] };
    try {
      const copied = await build('FROM onbuild-copy AS base\nFROM scratch\nCOPY --from=base /out /\n');
      expect(copied.calls.sort()).to.deep.equal(['busybox@amd64', 'onbuild-copy@amd64']);
      expect(copy(copied.graph, 's0.1').from).to.deep.equal({ kind: 'vertex', id: 's0.1.from0' });
      // The stage the trigger mounts is built first though nothing in the Dockerfile reads it.
      const mounted = await build('FROM alpine AS inputstage\nRUN echo -n foo > /foo\nFROM onbuild-mount AS base\nFROM scratch\nCOPY --from=base /out /\n');
      expect(mounted.graph.stages.map((st) => st.index)).to.deep.equal([0, 1, 2]);
      expect(vertex(mounted.graph, 's1.1').inputs).to.include('s0.1');
    } finally {
      delete images['onbuild-copy'];
      delete images['onbuild-mount'];
    }
  });

  it('rejects a malformed trigger in a base image at the FROM line', async () => {
    images['bad-onbuild'] = { OnBuild: ['COPPY a b'] };
    try {
      const err = await rejects('FROM alpine\nFROM bad-onbuild\n');
      expect(err.at).to.deep.include({ line: 2, column: 1 });
    } finally {
      delete images['bad-onbuild'];
    }
  });
});

describe('compile: hostile sizes end in an error at file:line, not a stack overflow or an exhausted heap', () => {
  it('rejects ${a:-${a:-…}} nested 20,000 deep at the ENV word', async () => {
    const err = await rejects(`FROM scratch\nARG a\nENV x=${'${a:-'.repeat(20_000)}z${'}'.repeat(20_000)}\n`);
    expect(err.code).to.equal('DOCKERFILE_SYNTAX');
    expect(err.at).to.deep.include({ line: 3, column: 7 });
    expect(err.message).to.match(/nested more than 100 levels/).and.to.have.length.below(400);
  });

  it('rejects ENV a=${a}${a} doubled 40 times when the value passes the growth bound', async () => {
    const text = `FROM scratch\nENV a=xxxxxxxxxx\n${'ENV a=${a}${a}\n'.repeat(40)}`;
    const err = await rejects(text);
    expect(err.code).to.equal('DOCKERFILE_SYNTAX');
    expect(err.at).to.deep.include({ line: 21, column: 7 });
    expect(err.message).to.match(/grew past 4194304 bytes/);
  });

  it('compiles a chain of 10,000 stages, each FROM the one before, without recursion', async () => {
    const text = `FROM scratch AS s0\n${Array.from({ length: 9_999 }, (_, i) => `FROM s${i} AS s${i + 1}\n`).join('')}`;
    const { graph } = await build(text);
    expect(graph.stages).to.have.length(10_000);
  });

  it('refuses a stage reading one further down, as BuildKit (testOutOfOrderStage), instead of ordering around it', async () => {
    const err = await rejects('FROM scratch AS a\nCOPY --from=c /x /y\nFROM scratch AS b\nCOPY --from=a /x /y\nFROM scratch AS c\nCOPY --from=b /x /y\n');
    expect(err.message).to.contain('cannot copy from stage "c", it needs to be defined before current stage "a"');
  });
});

describe('compile: a build of more than 5,000 steps', () => {
  it('is refused at the instruction that passes the bound', async () => {
    const err = await rejects(`FROM scratch\n${Array.from({ length: 10_000 }, () => 'RUN true\n').join('')}`);
    expect(err.code).to.equal('DOCKERFILE_SYNTAX');
    expect(err.message).to.match(/more than 5000 steps/);
    expect(err.at).to.deep.include({ line: 5_001 });
  });

  it('refuses 10,000 ENV lines (they exhausted a 4 GB heap) where what the steps carry passes 32 MiB', async () => {
    const err = await rejects(`FROM scratch\n${Array.from({ length: 10_000 }, (_, i) => `ENV V${i}=${i}\n`).join('')}`);
    expect(err.code).to.equal('DOCKERFILE_SYNTAX');
    expect(err.message).to.match(/the build's steps carry more than 32 MiB of environment, args and labels/);
  });

  it('refuses a 600-byte Dockerfile that doubles an ENV value into 40 MiB every later step would carry, at the line that passes the bound', async () => {
    const lines = ['FROM scratch', 'ENV A0=aaaaaaaaaaaaaaaa'];
    for (let i = 1; i <= 17; i++) lines.push(`ENV A${i}=\${A${i - 1}}\${A${i - 1}}`);
    for (let i = 1; i <= 10; i++) lines.push(`ENV B${i}=\${A17}\${A17}`);
    lines.push('RUN true');
    const err = await rejects(`${lines.join('\n')}\n`);
    expect(err.message).to.match(/carry more than 32 MiB/);
    expect(err.at).to.deep.include({ line: 22 });   // B3: 8 + 12 + 16 MiB of A17 and the Bs carried by then
  });

  it('counts only the steps the target needs: 10,000 stages of which the last is built compile', async () => {
    const { graph } = await build(Array.from({ length: 10_000 }, (_, i) => `FROM scratch AS s${i}\nENV A=${i}\n`).join(''));
    expect(graph.stages).to.have.length(1);
  });
});

describe('compile: a base image with 100,000 ENV entries', () => {
  it('starts its stage in linear time, a later KEY still replacing an earlier one in place', async () => {
    const env = [...Array.from({ length: 100_000 }, (_, i) => `E${i}=${i}`), 'E5=last', 'PATH=/bin'];
    const { graph } = await build('FROM big\nRUN true\n', { resolveImage: async (ref) => ({ ref: `docker.io/library/${ref}:latest`, digest: `sha256:${'b'.repeat(64)}`, config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: env } } }) });
    const run = graph.vertices.find((v) => v.op.kind === 'exec');
    const runEnv = run?.op.kind === 'exec' ? run.op.env : [];
    expect(runEnv).to.have.length(100_001);
    expect(runEnv[5]).to.equal('E5=last');
  });
});
