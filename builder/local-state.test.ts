import { expect } from 'chai';
import { join, resolve } from 'node:path';
import { buildxConfigDir, localStateOf } from './local-state.js';

describe('local state', () => {
  it('makes a local context and -f absolute, and keeps a remote one, stdin and -f - as given (buildx saveLocalState)', () => {
    expect(localStateOf('default', 'ctx', 'build.Dockerfile', false)).to.deep.equal({ Target: 'default', LocalPath: resolve('ctx'), DockerfilePath: resolve('build.Dockerfile') });
    expect(localStateOf('default', 'ctx', '-', false)).to.deep.equal({ Target: 'default', LocalPath: resolve('ctx'), DockerfilePath: '-' });
    expect(localStateOf('default', 'ctx', undefined, false)).to.deep.equal({ Target: 'default', LocalPath: resolve('ctx'), DockerfilePath: '' });
    expect(localStateOf('default', 'https://h/r.git', 'build.Dockerfile', true)).to.deep.equal({ Target: 'default', LocalPath: 'https://h/r.git', DockerfilePath: 'build.Dockerfile' });
    expect(localStateOf('default', '-', 'Dockerfile', true)).to.deep.equal({ Target: 'default', LocalPath: '-', DockerfilePath: 'Dockerfile' });
  });

  it('is kept in $BUILDX_CONFIG, else in buildx beside docker\'s config.json', () => {
    expect(buildxConfigDir({ BUILDX_CONFIG: '/b' })).to.equal('/b');
    expect(buildxConfigDir({ DOCKER_CONFIG: '/d' })).to.equal(join('/d', 'buildx'));
  });
});
