import { expect } from 'chai';
import { formatOutline, outlineOf, outlineResult } from './outline.js';

// Mirrors buildx's tests/build.go testBuildCall "outline" and "outline-quiet-output" (their Dockerfiles, our code).
describe('outlineOf (--call=outline)', () => {
  const text = `
FROM busybox AS first
RUN --mount=type=secret,target=/etc/passwd,required=true --mount=type=ssh true

FROM alpine AS second
RUN --mount=type=secret,id=unused --mount=type=ssh,id=ssh2 true

FROM scratch AS third
ARG BAR
RUN --mount=type=secret,id=second\${BAR} true

FROM third AS target
COPY --from=first /foo /
RUN --mount=type=ssh,id=ssh3,required true

FROM second
`;

  it('lists the target\'s args, secrets and SSH from the stages it stands on and reads from, by line', () => {
    const o = outlineOf(text, { buildArgs: { BAR: '678' }, target: 'target' });
    expect(o.name).to.equal('target');
    expect(o.args.map((a) => [a.name, a.value])).to.deep.equal([['BAR', '678']]);
    expect(o.secrets.map((s) => [s.name, s.required])).to.deep.equal([['passwd', true], ['second678', false]]);
    expect(o.ssh.map((s) => [s.name, s.required])).to.deep.equal([['default', false], ['ssh3', true]]);
    const json = outlineResult(o, text);
    expect(Object.keys(json)).to.deep.equal(['name', 'args', 'secrets', 'ssh', 'sources']);
    expect(json['args']).to.deep.equal([{ name: 'BAR', value: '678', location: { ranges: [{ start: { line: 9 }, end: { line: 9 } }] } }]);
  });

  it('prints the tables as BuildKit\'s PrintOutline does, and no TARGET block for an unnamed last stage', () => {
    const o = outlineOf('FROM busybox\n# FOO sets the greeting\nARG FOO=bar\n');
    expect(formatOutline(o)).to.equal('BUILD ARG   VALUE   DESCRIPTION\nFOO         bar     sets the greeting\n\n');
    expect(formatOutline(outlineOf(text, { buildArgs: { BAR: '678' }, target: 'target' }))).to.equal([
      'TARGET: target', '', 'BUILD ARG   VALUE   DESCRIPTION', 'BAR         678     ', '',
      'SECRET      REQUIRED', 'passwd      true', 'second678   ', '', 'SSH       REQUIRED', 'default   ', 'ssh3      true', '', '',
    ].join('\n'));
  });

  it('counts a global ARG its FROM names, and the globals that ARG\'s default names; an unused global is left out', () => {
    const o = outlineOf('ARG REG=example.com\nARG UNUSED=1\nARG IMAGE=$REG/base\nFROM $IMAGE\nARG LOCAL\n');
    expect(o.args.map((a) => [a.name, a.value])).to.deep.equal([['REG', 'example.com'], ['IMAGE', 'example.com/base'], ['LOCAL', '']]);
  });

  it('takes a stage ARG without a default from the global one, listed where the global is declared', () => {
    const o = outlineOf('# VERSION the release\nARG VERSION=1.2\nFROM scratch\nARG VERSION\n');
    expect(o.args).to.deep.equal([{ name: 'VERSION', description: 'the release', value: '1.2', line: 2, endLine: 2 }]);
  });
});
