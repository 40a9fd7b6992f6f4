import { expect } from 'chai';
import { parseImageConfig } from './image-config.js';

const base = { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } };
const parse = (value: unknown) => parseImageConfig(Buffer.from(JSON.stringify(value)), 'r/app:1');
const refusal = (value: unknown): string => {
  try {
    parse(value);
  } catch (err) {
    expect(err).to.have.property('code', 'REGISTRY_REQUEST');
    return (err as Error).message;
  }
  throw new Error('parsed');
};

describe('parseImageConfig', () => {
  it('refuses members whose type Go\'s json.Unmarshal into ocispec.Image would refuse, naming the member', () => {
    for (const [config, member] of [
      [{ config: { Env: 'PATH=/bin' } }, 'config.Env is not an array of strings'],
      [{ config: { Env: ['A=1', 2] } }, 'config.Env is not an array of strings'],
      [{ config: { User: 5 } }, 'config.User is not a string'],
      [{ config: { WorkingDir: ['/'] } }, 'config.WorkingDir is not a string'],
      [{ config: { Labels: { a: 1 } } }, 'config.Labels is not an object of strings'],
      [{ config: { ExposedPorts: ['80/tcp'] } }, 'config.ExposedPorts is not an object of objects'],
      [{ config: { Volumes: { '/v': 'x' } } }, 'config.Volumes is not an object of objects'],
      [{ config: { Healthcheck: { Test: ['CMD'], Interval: '5s' } } }, 'config.Healthcheck.Interval is not an integer'],
      [{ config: 'x' }, 'config is not an object'],
      [{ variant: 7 }, 'variant is not a string'],
      [{ history: {} }, 'history is not an array'],
      [{ history: [{ created_by: ['RUN x'] }] }, 'history[0].created_by is not a string'],
    ] as const) {
      expect(refusal({ ...base, ...config })).to.equal(`image config of r/app:1 is not valid: ${member}`);
    }
  });

  it('reads null members as absent, as Go does', () => {
    const c = parse({ ...base, config: { Env: null, Labels: null, Cmd: null, User: 'app' }, history: null });
    expect(c.config).to.deep.equal({ User: 'app' });
    expect(c).to.not.have.property('history');
  });
});
