import { expect } from 'chai';
import { parseAddHosts } from '../options/build-flags.js';
import { buildOrder } from './run.js';
import { entryText, targetFlags, type BakeRunOptions } from './target-flags.js';

const opts: BakeRunOptions = { root: '/r', progress: 'plain', quiet: false, allow: [], insecureRegistry: [], layouts: new Map([['base', '/tmp/x/base.oci']]) };

describe('bake target → build flags', () => {
  it('reads the Dockerfile relative to the context, a cwd:// one relative to the working directory, as buildx', () => {
    expect(targetFlags('a', { context: 'app', dockerfile: 'Dockerfile.app' }, opts).flags.file).to.equal('app/Dockerfile.app');
    expect(targetFlags('a', { context: 'app', dockerfile: 'cwd://docker/Dockerfile' }, opts).flags.file).to.equal('docker/Dockerfile');
    expect(targetFlags('a', { context: 'cwd://', dockerfile: '/abs/Dockerfile' }, opts)).to.deep.include({ context: '.' });
  });

  it('passes a git or http(s) context and named contexts through, the Dockerfile relative to the remote context, as buildx', () => {
    const { context, flags } = targetFlags('a', { context: 'https://h/org/r.git#main:app', dockerfile: 'Dockerfile.app', contexts: { lib: 'git@h:org/lib.git', web: 'https://h/x.tar.gz' } }, opts);
    expect(context).to.equal('https://h/org/r.git#main:app');
    expect(flags.file).to.equal('Dockerfile.app');
    expect(flags.buildContext).to.deep.equal(['lib=git@h:org/lib.git', 'web=https://h/x.tar.gz']);
    expect(targetFlags('a', { context: 'git://h/r.git', dockerfile: 'cwd://docker/Dockerfile' }, opts).flags.file).to.equal(`${process.cwd()}/docker/Dockerfile`);
  });

  it('passes args, labels, tags, platforms, outputs, caches and secrets in build flag syntax', () => {
    const { flags } = targetFlags('a', {
      args: { A: '1' }, labels: { L: 'x' }, tags: ['r/a:1'], platforms: ['linux/amd64', 'linux/arm64'],
      output: [{ type: 'image', push: 'true' }, { type: 'local', dest: 'out,dir' }], 'cache-from': [{ type: 'registry', ref: 'r/a:cache' }],
      'cache-to': [{ type: 'inline' }], secret: [{ id: 'npm', src: '.npmrc' }, { id: 'tok', env: 'TOKEN' }], 'no-cache': true, target: 'final',
    }, opts);
    expect(flags).to.deep.include({
      buildArg: ['A=1'], label: ['L=x'], tag: ['r/a:1'], platform: 'linux/amd64,linux/arm64',
      output: ['type=image,push=true', 'type=local,"dest=out,dir"'], cacheFrom: ['type=registry,ref=r/a:cache'], cacheTo: ['type=inline'],
      secret: ['id=npm,src=.npmrc', 'id=tok,env=TOKEN'], cache: false, target: 'final',
    });
  });

  it('turns a docker output without dest into --load, and a target: context into the dependency\'s OCI layout', () => {
    const { flags } = targetFlags('a', { output: [{ type: 'docker' }], contexts: { base: 'target:base', src: 'cwd://src' } }, opts);
    expect(flags.load).to.equal(true);
    expect(flags.output).to.deep.equal([]);
    expect(flags.buildContext).to.deep.equal(['base=oci-layout:///tmp/x/base.oci', 'src=src']);
  });

  it('passes a host of several extra-hosts addresses (compose\'s "a,b") as one quoted --add-host field', () => {
    const { flags } = targetFlags('a', { 'extra-hosts': { one: '10.0.0.1', many: '162.242.195.82,162.242.195.83' } }, opts);
    expect(parseAddHosts(flags.addHost)).to.deep.equal(['10.0.0.1\tone', '162.242.195.82\tmany', '162.242.195.83\tmany']);
  });

  it('refuses entitlements --allow did not grant, naming the flag to add', () => {
    expect(() => targetFlags('a', { entitlements: ['network.host'] }, opts)).to.throw(/requests additional privileges: network.host/);
    expect(targetFlags('a', { entitlements: ['network.host'] }, { ...opts, allow: ['network.host'] }).flags.allow).to.deep.equal(['network.host']);
    expect(targetFlags('a', {}, { ...opts, allow: ['fs.read=..', 'fs=*'] }).flags.allow).to.deep.equal([]);
    expect(() => targetFlags('a', {}, { ...opts, allow: ['netwrok.host'] })).to.throw(/invalid entitlement "netwrok.host"/);
  });

  it('writes an entry with its type first', () => expect(entryText({ ref: 'r', type: 'registry', mode: 'max' })).to.equal('type=registry,ref=r,mode=max'));

  it('builds a target after the targets its target: contexts name', () => {
    expect(buildOrder({ a: { contexts: { x: 'target:c' } }, b: {}, c: { contexts: { y: 'target:b' } } })).to.deep.equal(['b', 'c', 'a']);
  });
});
