import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildGraph } from '../frontend/index.js';
import { checkEmulation, emulationState } from './emulation.js';
import { isTsbuildError } from '../common/index.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

function graphOn(platform: typeof amd64): BuildGraph {
  return {
    target: 0,
    stages: [{ index: 0, platform, vertices: ['s0.0', 's0.1'], result: 's0.1', config: {} }],
    vertices: [
      { id: 's0.0', op: { kind: 'scratch', platform }, inputs: [], text: 'FROM scratch', stage: 0, args: {}, emptyLayer: true },
      { id: 's0.1', op: { kind: 'exec', argv: ['/bin/true'], env: [], cwd: '/', user: '', mounts: [], network: 'default', security: 'sandbox' }, inputs: ['s0.0'], text: 'RUN true', stage: 0, args: {}, emptyLayer: false },
    ],
  } as unknown as BuildGraph;
}

describe('foreign-architecture RUN checks binfmt_misc first', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'tsbuild-binfmt-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads a handler registered with the F flag as usable, and one without it as not', async () => {
    await writeFile(join(dir, 'status'), 'enabled\n');
    await writeFile(join(dir, 'qemu-aarch64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n');
    await writeFile(join(dir, 'qemu-riscv64'), 'enabled\ninterpreter /usr/bin/qemu-riscv64-static\nflags: \n');
    expect(emulationState('arm64', dir)).to.equal('ok');
    expect(emulationState('riscv64', dir)).to.equal('no-fix-binary');
    expect(emulationState('s390x', dir)).to.equal('missing');
    expect(emulationState('arm64', join(dir, 'absent'))).to.equal('not-mounted');
  });

  it('fails a RUN for arm64 with EMULATION_UNAVAILABLE and a hint naming make setup when no handler is registered', async () => {
    await writeFile(join(dir, 'status'), 'enabled\n');
    let caught: unknown;
    try { checkEmulation(graphOn(arm64), amd64, dir); } catch (err) { caught = err; }
    expect(isTsbuildError(caught) && caught.code).to.equal('EMULATION_UNAVAILABLE');
    expect(isTsbuildError(caught) ? caught.hint : '').to.contain('make setup').and.contain('qemu-user-static');
    expect((caught as Error).message).to.contain('linux/arm64').and.contain('qemu-aarch64');
  });

  it('needs nothing for the host architecture', () => {
    expect(() => checkEmulation(graphOn(amd64), amd64, join(dir, 'absent'))).not.to.throw();
  });
});
