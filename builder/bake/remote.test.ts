import { expect } from 'chai';
import { bakeArgs, remoteUrlWithSubdir, withGitAuth, withGitSsh } from './remote.js';
import type { Resolved } from './resolve.js';

// A remote bake definition's command line and contexts, as buildx's commands/bake.go bakeArgs, bake/bake.go
// remoteURLWithSubdir and bake/gitauth.go make them.

describe('bake: remote definitions', () => {
  it('takes a URL as the first argument for the definition and a second one as BAKE_CMD_CONTEXT', () => {
    expect(bakeArgs(['app'])).to.deep.equal({ cmdContext: 'cwd://', targets: ['app'] });
    expect(bakeArgs(['https://h/r.git#v1', 'app'])).to.deep.equal({ url: 'https://h/r.git#v1', cmdContext: 'cwd://', targets: ['app'] });
    expect(bakeArgs(['git@h:r.git', 'https://h/ctx.tar.gz', 'a', 'b'])).to.deep.equal({ url: 'git@h:r.git', cmdContext: 'https://h/ctx.tar.gz', targets: ['a', 'b'] });
  });

  it('puts a subdirectory into the fragment, or into ?subdir= when the URL has that and no fragment', () => {
    expect(remoteUrlWithSubdir('https://h/r.git', './bar/')).to.equal('https://h/r.git#:bar');
    expect(remoteUrlWithSubdir('https://h/r.git#main', 'bar')).to.equal('https://h/r.git#main:bar');
    expect(remoteUrlWithSubdir('https://h/r.git#main:base', 'bar')).to.equal('https://h/r.git#main:base/bar');
    expect(remoteUrlWithSubdir('https://h/r.git?subdir=base', 'bar')).to.equal('https://h/r.git?subdir=base%2Fbar');
    expect(remoteUrlWithSubdir('https://h/r.git', '.')).to.equal('https://h/r.git');
    expect(remoteUrlWithSubdir('https://h/ctx.tar.gz', 'bar')).to.equal('https://h/ctx.tar.gz');
  });

  it('gives the targets that fetch from the definition\'s host its BUILDX_BAKE_GIT_AUTH_* as GIT_AUTH_*.HOST secrets, read from the environment', () => {
    const resolved: Resolved = {
      groups: {}, linked: new Set(),
      targets: { same: { context: 'https://H:8/r.git#:sub' }, named: { context: 'cwd://', contexts: { n: 'https://h:8/r.git' } }, other: { context: 'https://x/r.git' }, local: { context: 'cwd://' } },
    };
    const out = withGitAuth(resolved, 'https://h:8/r.git', { buildx_bake_git_auth_token: 't', BUILDX_BAKE_GIT_AUTH_HEADER: 'basic x' });
    const secrets = [{ id: 'GIT_AUTH_TOKEN.h:8', env: 'buildx_bake_git_auth_token' }, { id: 'GIT_AUTH_HEADER.h:8', env: 'BUILDX_BAKE_GIT_AUTH_HEADER' }];
    expect(out.targets.same?.secret).to.deep.equal(secrets);
    expect(out.targets.named?.secret).to.deep.equal(secrets);
    expect(out.targets.other?.secret).to.equal(undefined);
    expect(out.targets.local?.secret).to.equal(undefined);
  });

  it('forwards the default SSH agent to the targets of a definition or a context over ssh, unless they name their own', () => {
    const resolved: Resolved = {
      groups: {}, linked: new Set(),
      targets: { plain: { context: 'https://h/r.git#:sub' }, own: { context: '.', ssh: [{ id: 'key', paths: ['k'] }] }, ssh: { context: 'git@h:r.git' } },
    };
    const overSsh = withGitSsh(resolved, 'ssh://git@h/r.git');
    expect(overSsh.targets.plain?.ssh).to.deep.equal([{ id: 'default' }]);
    expect(overSsh.targets.own?.ssh).to.deep.equal([{ id: 'key', paths: ['k'] }]);
    const overHttps = withGitSsh(resolved, 'https://h/r.git');
    expect(overHttps.targets.plain?.ssh).to.equal(undefined);
    expect(overHttps.targets.ssh?.ssh).to.deep.equal([{ id: 'default' }]);
  });
});
