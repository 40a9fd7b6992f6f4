import { expect } from 'chai';
import type { BuildRecord } from '../../solver/index.js';
import { inspectOutput } from './inspect.js';

// inspectOutput reads a record's frontend attributes as buildx's commands/history/inspect.go reads BuildKit's.
describe('history inspectOutput', () => {
  const base: BuildRecord = { id: 'b1', started: 0, finished: 1000, status: 'succeeded', dockerfile: '/w/app/Dockerfile', contextDir: '/w/app', args: { A: '1' }, tags: [], vertices: [] };

  it('reads a record written before it kept frontend attributes: the settings stay empty', () => {
    const out = inspectOutput(base, '/w');
    expect(out).to.include({ Context: 'app', Dockerfile: 'Dockerfile', VCSRepository: '', VCSRevision: '' });
    expect(out.Platform).to.deep.equal([]);
    expect(out.Labels).to.deep.equal([]);
    expect(out.Config.RestRaw).to.deep.equal([]);
  });

  it('fills the platform, labels, named contexts, settings and the checkout from them, and lists none as RestRaw', () => {
    const record: BuildRecord = {
      ...base,
      frontendAttrs: {
        platform: 'linux/amd64,linux/arm64', 'label:b': '2', 'label:a': '1', 'context:base': 'docker-image://alpine', 'force-network-mode': 'host',
        'add-hosts': 'db=10.0.0.1,db=10.0.0.2', 'no-cache': '', 'shm-size': '1048576', ulimit: 'nofile=1:2', 'vcs:source': 'https://github.com/o/r.git',
        'vcs:revision': 'abc', 'vcs:localdir:context': '.',
      },
    };
    const out = inspectOutput(record, '/w');
    expect(out).to.include({ VCSRepository: 'https://github.com/o/r.git', VCSRevision: 'abc' });
    expect(out.Platform).to.deep.equal(['linux/amd64', 'linux/arm64']);
    expect(out.Labels).to.deep.equal([{ Name: 'a', Value: '1' }, { Name: 'b', Value: '2' }]);
    expect(out.NamedContexts).to.deep.equal([{ Name: 'base', Value: 'docker-image://alpine' }]);
    expect(out.Config).to.deep.include({ Network: 'host', ExtraHosts: ['db=10.0.0.1', 'db=10.0.0.2'], NoCache: true, NoCacheFilter: [], ShmSize: '1048576', Ulimit: 'nofile=1:2', RestRaw: [] });
  });

  it('shows no checkout for a remote context, as buildx with a `context` attribute', () => {
    const remote: BuildRecord = { ...base, contextSource: { url: 'https://github.com/o/r.git', commit: 'c' }, frontendAttrs: { 'vcs:source': 'https://x/y.git' } };
    expect(inspectOutput(remote, '/w')).to.include({ VCSRepository: '', VCSRevision: '' });
  });
});
