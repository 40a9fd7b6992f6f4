import { expect } from 'chai';
import { Command } from 'commander';
import { addBuildFlags, addBuildxOnlyFlags, buildxOnlyWarnings, platformsOption, progressOf } from './build-flags.js';
import { parseAddHosts, parseAllow, parseBuildContexts, parseCgroupParent, parseResourceLimits } from '../options/build-flags.js';

describe('buildx flags tsbuild reads differently or not at all', () => {
  const parse = (args: string[]): Command => {
    const cmd = addBuildxOnlyFlags(addBuildFlags(new Command('build').argument('[context]'))).exitOverride();
    return cmd.parse(args, { from: 'user' });
  };

  it('joins a repeated --platform as buildx does (never keeps only the last)', () => {
    expect(parse(['--platform', 'linux/amd64', '--platform', 'linux/arm64,linux/arm/v7', '.']).opts().platform).to.equal('linux/amd64,linux/arm64,linux/arm/v7');
  });

  it('reads --resource entries as buildx\'s ParseResourceLimits: docker sizes, later entries winning, 0 unset', () => {
    expect(parseResourceLimits([])).to.equal(undefined);
    expect(parseResourceLimits(['memory=512m', 'memory-swap=1g', 'cpu-shares=512', 'cpu-period=100000', 'cpu-quota=50000', 'cpuset-cpus=0-1', 'cpuset-mems=0'])).to.deep.equal({
      memoryBytes: 512 * 1024 ** 2, memorySwapBytes: 1024 ** 3, cpuShares: 512, cpuPeriodUs: 100_000, cpuQuotaUs: 50_000, cpusetCpus: '0-1', cpusetMems: '0',
    });
    expect(parseResourceLimits(['memory=1g', 'memory=2G', ' cpu-shares = 2 '])).to.deep.equal({ memoryBytes: 2 * 1024 ** 3, cpuShares: 2 });
    expect(parseResourceLimits(['memory-swap=-1'])).to.deep.equal({ memorySwapBytes: -1 });
    expect(parseResourceLimits(['memory=1g', 'memory=0', 'cpu-quota=0'])).to.equal(undefined);
    for (const bad of ['memory', 'cpu-shares=x', 'cpu-period=999', 'cpuset-mems=a', 'swap=1', 'memory-swap=1g', 'memory=2g,memory-swap=1g']) {
      expect(() => parseResourceLimits(bad.split(',')), bad).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('reads --cgroup-parent as a path below the cgroup root: slashes trimmed, `/` the default place, `..` and systemd\'s slice: form refused', () => {
    expect(parseCgroupParent(undefined)).to.equal(undefined);
    expect(parseCgroupParent('/ci//builds/')).to.equal('ci/builds');
    expect(parseCgroupParent('system.slice/builds.slice')).to.equal('system.slice/builds.slice');
    expect(parseCgroupParent('/')).to.equal(undefined);
    for (const bad of ['..', 'a/../../b', './x', 'builds.slice:tsbuild:x', 'a\nb']) {
      expect(() => parseCgroupParent(bad), bad).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('warns for the flags buildx ignores or warns about, and refuses the ones it would apply', () => {
    expect(buildxOnlyWarnings(parse(['--rm', '--force-rm', '--squash', '.']))).to.have.length(3)
      .and.to.satisfy((ws: string[]) => ws.every((w) => w.startsWith('warning: --') && w.includes('has no effect')));
    // pflag booleans: the word after one is the context, never the flag's value (`docker build --rm .`).
    for (const flag of ['--rm', '--force-rm', '--compress', '--squash']) expect(parse([flag, 'ctx']).args, flag).to.deep.equal(['ctx']);
    expect(buildxOnlyWarnings(parse(['.']))).to.deep.equal([]);
    // --cgroup-parent is applied now (options/build-flags.ts parseCgroupParent); --policy is still refused.
    for (const args of [['--policy', 'filename=p.rego']]) {
      expect(() => buildxOnlyWarnings(parse([...args, '.'])), args.join(' ')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('reads --progress quiet as -q, none as no output at all, and refuses -q with another explicit mode', () => {
    expect(progressOf({ progress: 'quiet' }, true, {})).to.deep.equal({ progress: 'quiet', quiet: true });
    expect(progressOf({ progress: 'none' }, true, {})).to.deep.equal({ progress: 'quiet', quiet: false });
    expect(progressOf({ progress: 'plain', quiet: true }, false, {})).to.deep.equal({ progress: 'quiet', quiet: true });
    expect(() => progressOf({ progress: 'plain', quiet: true }, true, {})).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(progressOf({ progress: 'plain' }, true, {})).to.deep.equal({ progress: 'plain', quiet: false });
  });

  it('refuses a --progress that names no mode as progressui.NewDisplay does, with a usage error', () => {
    for (const mode of ['bogus', 'PLAIN', 'json']) {
      expect(() => progressOf({ progress: mode }, true, {}), mode).to.throw(`invalid progress mode ${mode}`).with.property('code', 'INVALID_ARGUMENT');
    }
    // `--progress ""` is progressui's DefaultMode: auto, without $BUILDKIT_PROGRESS (NewPrinter reads it for "auto" only).
    expect(progressOf({ progress: '' }, true, { BUILDKIT_PROGRESS: 'plain' })).to.deep.equal({ progress: 'auto', quiet: false });
  });

  it('takes $BUILDKIT_PROGRESS for auto only, untranslated as buildx\'s NewPrinter does: none is no mode there, quiet prints no image ID', () => {
    const env = (v: string): NodeJS.ProcessEnv => ({ BUILDKIT_PROGRESS: v });
    // The flag's value when it is not given is only what help shows: the variable decides.
    expect(progressOf({ progress: 'plain' }, false, env('rawjson'))).to.deep.equal({ progress: 'rawjson', quiet: false });
    expect(progressOf({ progress: 'auto' }, true, env('plain'))).to.deep.equal({ progress: 'plain', quiet: false });
    expect(progressOf({ progress: 'tty' }, true, env('plain'), true)).to.deep.equal({ progress: 'tty', quiet: false });
    expect(progressOf({ progress: 'auto' }, false, env('quiet'))).to.deep.equal({ progress: 'quiet', quiet: false });
    expect(progressOf({ progress: 'auto', quiet: true }, false, env('bogus'))).to.deep.equal({ progress: 'quiet', quiet: true });
    expect(progressOf({ progress: 'auto' }, false, env(''))).to.deep.equal({ progress: 'auto', quiet: false });
    for (const v of ['none', 'bogus', 'PLAIN']) {
      expect(() => progressOf({ progress: 'auto' }, false, env(v)), v).to.throw(`invalid progress mode "${v}" in $BUILDKIT_PROGRESS`).with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('refuses tty, given or from $BUILDKIT_PROGRESS, when stderr is not a terminal, as progressui.NewDisplay does', () => {
    const refused = 'failed to get console: provided file is not a console';
    expect(() => progressOf({ progress: 'tty' }, true, {}, false)).to.throw(refused).with.property('code', 'INVALID_ARGUMENT');
    expect(() => progressOf({ progress: 'auto' }, false, { BUILDKIT_PROGRESS: 'tty' }, false)).to.throw(refused);
    // auto is the one that falls back to plain; -q and an explicit mode are not tty.
    expect(progressOf({ progress: 'auto' }, true, {}, false)).to.deep.equal({ progress: 'auto', quiet: false });
    expect(progressOf({ progress: 'auto', quiet: true }, false, { BUILDKIT_PROGRESS: 'tty' }, false)).to.deep.equal({ progress: 'quiet', quiet: true });
    expect(progressOf({ progress: 'plain' }, true, { BUILDKIT_PROGRESS: 'tty' }, false)).to.deep.equal({ progress: 'plain', quiet: false });
  });

  it('reads --platform local as the host platform, as buildx does', () => {
    const host = platformsOption('local');
    expect(host?.[0]?.os).to.equal('linux');
    expect(host).to.have.length(1);
  });

  it('keeps platforms that differ by OS version apart and the first of two equal ones, normalised', () => {
    expect(platformsOption('windows(1.2.3)/bar,windows(1.1.0)/bar,windows(1.2.3)/bar')).to.deep.equal([
      { os: 'windows', architecture: 'bar', 'os.version': '1.2.3' }, { os: 'windows', architecture: 'bar', 'os.version': '1.1.0' },
    ]);
    expect(platformsOption('linux/arm64/v8,linux/aarch64')).to.deep.equal([{ os: 'linux', architecture: 'arm64' }]);
  });

  it('grants the entitlements tsbuild has and refuses the rest by name, typos included', () => {
    expect(parseAllow(['network.host,security.insecure', 'network.host'])).to.deep.equal({ entitlements: ['network.host', 'security.insecure'], isLocalDeleteAllowed: false });
    // buildx.local.delete is tsbuild's to check (local outputs), never one of the build's entitlements.
    expect(parseAllow(['buildx.local.delete'])).to.deep.equal({ entitlements: [], isLocalDeleteAllowed: true });
    expect(() => parseAllow(['buildx.local.delete=true'])).to.throw('buildx.local.delete does not accept a value');
    for (const e of ['device', 'network.hots', 'buildx.local']) expect(() => parseAllow([e]), e).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('refuses a --build-context for one platform (NAME::PLATFORM) by name instead of never matching it', () => {
    expect(() => parseBuildContexts(['alpine::linux/arm64=docker-image://alpine:3.20'])).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(parseBuildContexts(['alpine=docker-image://alpine:3.20'])).to.deep.equal({ alpine: { kind: 'image', ref: 'alpine:3.20' } });
  });

  it('reads git and http(s) URLs as remote named contexts, and a local path ending in .git as a directory', () => {
    expect(parseBuildContexts(['a=git://h/r.git#main:sub', 'b=git@h:org/r.git', 'c=https://h/x.tar.gz', 'd=ssh://git@h/r.git', 'e=./x.git'], '/w')).to.deep.equal({
      a: { kind: 'remote', url: 'git://h/r.git#main:sub' }, b: { kind: 'remote', url: 'git@h:org/r.git' }, c: { kind: 'remote', url: 'https://h/x.tar.gz' },
      d: { kind: 'remote', url: 'ssh://git@h/r.git' }, e: { kind: 'local', dir: '/w/x.git' },
    });
    expect(() => parseBuildContexts(['a=target:b'])).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('splits comma-separated --add-host values, as buildx\'s stringSlice does', () => {
    expect(parseAddHosts(['a:10.0.0.1,b=10.0.0.2', 'c:::1'])).to.deep.equal(['10.0.0.1\ta', '10.0.0.2\tb', '::1\tc']);
  });

  it('reads a quoted --add-host field as one host with several addresses, brackets taken off, as toBuildkitExtraHosts', () => {
    expect(parseAddHosts(['"h=10.0.0.1,[fd00::1]",x:[10.0.0.9]', ''])).to.deep.equal(['10.0.0.1\th', 'fd00::1\th', '10.0.0.9\tx']);
    expect(parseAddHosts(['v6=::1'])).to.deep.equal(['::1\tv6']);
    for (const [bad, message] of [['h', 'invalid host h'], ['=1.2.3.4', 'invalid host =1.2.3.4'], ['h:nope', 'is not an IP address'], ['a"b:1.2.3.4', 'bare "'],
      ['h:host-gateway', 'unable to derive the IP value for host-gateway']]) {
      expect(() => parseAddHosts([bad ?? '']), bad).to.throw(message).with.property('code', 'INVALID_ARGUMENT');
    }
  });
});
