import { expect } from 'chai';
import { DockerfileError, compile, withSource } from '../frontend/index.js';
import type { Vertex } from '../frontend/index.js';
import { StepError } from '../solver/index.js';
import { UserError } from '../common/index.js';
import { exitStatus, formatError, raisedWhileBuilding } from './format-error.js';

// The file named in these errors does not exist: every caret below comes from the text the error carries.
const platform = { os: 'linux', architecture: 'amd64' };
const FILE = '/nonexistent/tsbuild-format-error/Dockerfile';

describe('formatError', () => {
  it('shows a compile error from the Dockerfile text it was compiled from, with a caret and the hint', async () => {
    const text = 'FROM scratch\nCOPPY src/ /app/\n';
    const err = await compile(text, { file: FILE, platform, buildPlatform: platform, resolveImage: () => Promise.reject(new Error('no images here')) }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(DockerfileError);
    expect(formatError(err).split('\n')).to.deep.equal([
      `ERROR: ${FILE}:2:1: unknown instruction "COPPY"`,
      '  2 | COPPY src/ /app/',
      '    | ^^^^^',
      'hint: did you mean COPY?',
    ]);
  });

  it('shows a failed step at its line once the builder has attached the source', () => {
    const text = 'FROM scratch\nRUN false\n';
    const at = { file: FILE, line: 2, column: 1, endLine: 2, endColumn: 10 };
    const vertex = { id: 'v1', location: at, text: 'RUN false' } as unknown as Vertex;
    const err = withSource(new StepError(vertex.id, at, vertex.text, new UserError('RUN_FAILED', 'RUN failed: exit code 1')), { file: FILE, text });
    expect(formatError(err).split('\n')).to.deep.equal([
      `ERROR: ${FILE}:2: RUN failed: exit code 1`,
      '  2 | RUN false',
      '    | ^^^^^^^^^',
    ]);
  });

  it('says `failed to solve:` of what a running build raised, as buildx does, and not of a refused command line', () => {
    expect(formatError(raisedWhileBuilding(new UserError('RUN_FAILED', 'Dockerfile:2: process "/bin/sh -c false" did not complete successfully: exit code: 1'))))
      .to.equal('ERROR: failed to solve: Dockerfile:2: process "/bin/sh -c false" did not complete successfully: exit code: 1');
    expect(formatError(new UserError('INVALID_ARGUMENT', 'unknown output type "floppy"', 'use type=image'))).to.equal('ERROR: unknown output type "floppy"\nhint: use type=image');
  });

  it('attaches no text to an error that points into another file', () => {
    const at = { file: '/elsewhere/Dockerfile', line: 1, column: 1, endLine: 1, endColumn: 2 };
    const err = withSource(new DockerfileError(at, 'bad'), { file: FILE, text: 'FROM scratch\n' });
    expect(err.source).to.equal(undefined);
    expect(formatError(err)).to.equal('ERROR: /elsewhere/Dockerfile:1:1: bad');
  });
});

describe('exitStatus', () => {
  it('gives 2 to bad usage refused before the build, 1 to the same codes raised by the running build, 1 to any other failure', () => {
    expect(exitStatus(new UserError('INVALID_ARGUMENT', 'unknown output type'))).to.equal(2);
    expect(exitStatus(new UserError('INVALID_REFERENCE', 'invalid -t'))).to.equal(2);
    expect(exitStatus(raisedWhileBuilding(new UserError('INVALID_ARGUMENT', 'unable to find user "nosuchuser"')))).to.equal(1);
    expect(exitStatus(raisedWhileBuilding(new UserError('INVALID_REFERENCE', 'FROM reference does not parse')))).to.equal(1);
    expect(exitStatus(new UserError('RUN_FAILED', 'RUN failed'))).to.equal(1);
    expect(exitStatus(raisedWhileBuilding(new UserError('CANCELLED', 'interrupted')))).to.equal(130);
    expect(exitStatus(new Error('a bug'))).to.equal(70);
  });
});
