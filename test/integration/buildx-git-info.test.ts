import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, hostPlatform } from '../../registry/index.js';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { run, tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// A local context inside a git checkout, built as buildx builds one (build/git.go getGitAttributes): the checkout's
// remote and commit reach the provenance's metadata as BuildKit writes them (provenance/predicate.go, `vcs`), the
// labels BUILDX_GIT_LABELS asks for reach the image config, and the history record keeps them with the build's
// settings, which `history inspect --format json` shows as buildx's commands/history/inspect.go does.

const TOKEN = 'ghp_gitInfoToken0123456789';
const REMOTE = `https://ci-user:${TOKEN}@github.com/acme/app.git`;
const REDACTED_REMOTE = 'https://xxxxx:xxxxx@github.com/acme/app.git';
const VCS_METADATA = 'https://mobyproject.org/buildkit@v1#metadata';

/** The pushed attestation: SLSA v1, BuildKit's default version. */
interface SlsaV1 { buildDefinition: { externalParameters: { request: { args: Record<string, string> } } }; runDetails: { metadata: { buildkit_metadata?: { vcs?: Record<string, string> } } } }
/** The metadata file's record provenance: v0.2, as buildx converts BuildKit's v1 record (build/provenance.go encodeProvenance). */
interface Slsa { invocation: { parameters: { args: Record<string, string> } }; metadata?: Record<string, unknown> }

describe('buildx git information of a local context, and the settings a history record keeps', function () {
  this.timeout(240_000);
  let env: BuildEnv;
  let repo: string;
  let sha: string;
  const platform = formatPlatform(hostPlatform());
  const ok = (r: CliResult): CliResult => { expect(r.code, r.stderr.slice(-3000)).to.equal(0); return r; };
  const git = async (args: string[]): Promise<string> => (ok(await run('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], { cwd: repo }))).stdout.trim();
  const root = (): string => join(env.dir, 'root');
  const inspect = async (ref: string, format: string): Promise<unknown> => JSON.parse(ok(await tsbuild(['imagetools', 'inspect', ref, '--format', format])).stdout) as unknown;
  const history = async (): Promise<Record<string, unknown>> => JSON.parse(ok(await tsbuild(['history', 'inspect', '--root', root(), '--format', 'json'], { cwd: repo })).stdout) as Record<string, unknown>;
  const build = async (name: string, args: string[], vars: NodeJS.ProcessEnv): Promise<{ ref: string; meta: Record<string, unknown>; stderr: string }> => {
    const ref = `${env.registry.host}/gitinfo:${name}`;
    const file = join(env.dir, `meta-${name}.json`);
    const r = ok(await tsbuild(['build', '--root', root(), '--progress', 'plain', '--attest', 'type=provenance,mode=max', '--metadata-file', file,
      '--build-context', `assets=${join(repo, 'assets')}`, '-t', ref, '--push', ...args, '.'], { cwd: repo, env: { BUILDX_GIT_INFO: '', BUILDX_GIT_LABELS: '', BUILDX_GIT_CHECK_DIRTY: '', BUILDX_METADATA_PROVENANCE: 'max', ...vars } }));
    return { ref, meta: JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>, stderr: r.stderr };
  };

  before(async () => {
    env = await startBuildEnv('tsbuild-git-info-');
    repo = join(env.dir, 'repo');
    await mkdir(join(repo, 'assets'), { recursive: true });
    await writeFile(join(repo, 'assets', 'a.txt'), 'asset\n');
    await writeFile(join(repo, 'Dockerfile'), `FROM ${env.base} AS final\nCOPY --from=assets a.txt /a.txt\nRUN cat /a.txt > /copy\n`);
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '.']);
    await git(['commit', '-q', '-m', 'app']);
    await git(['remote', 'add', 'origin', REMOTE]);
    sha = await git(['rev-parse', 'HEAD']);
  });
  after(async () => { await env?.stop(); });

  it('puts vcs source, revision and local dirs in the provenance and the record, the git labels on the image, and the settings in history inspect', async () => {
    const { ref, meta, stderr } = await build('full', ['--platform', platform, '--label', 'team=infra',
      '--network', 'none', '--add-host', 'db.local:10.0.0.5', '--shm-size', '128m', '--ulimit', 'nofile=1024:2048', '--no-cache-filter', 'final'],
    { BUILDX_GIT_LABELS: 'full', BUILDX_GIT_CHECK_DIRTY: '1' });
    expect(stderr).to.not.contain('WARNING: current commit information');
    const vcs = { revision: sha, source: REDACTED_REMOTE, 'localdir:context': '.', 'localdir:dockerfile': '.', 'localdir:assets': 'assets' };

    // The attestation pushed with the image: BuildKit's metadata `vcs`, the attributes out of the request's args.
    const pushed = (await inspect(ref, '{{json .Provenance}}') as { SLSA: SlsaV1 }).SLSA;
    // max mode: beside the vcs, BuildKit's source metadata (the Dockerfile, and each step's lines in it) and each
    // step's layers.
    expect(pushed.runDetails.metadata.buildkit_metadata).to.have.keys(['vcs', 'source', 'layers']);
    expect(pushed.runDetails.metadata.buildkit_metadata).to.deep.include({ vcs });
    const { args } = pushed.buildDefinition.externalParameters.request;
    expect(Object.keys(args).filter((k) => k.startsWith('vcs:'))).to.deep.equal([]);
    expect(args).to.include({ 'label:org.opencontainers.image.source': REDACTED_REMOTE, 'label:team': 'infra' });
    // The build's settings, as buildx sends them and BuildKit's FilterArgs keeps them; not the platform (host-specific).
    expect(args).to.include({ 'force-network-mode': 'none', 'add-hosts': 'db.local=10.0.0.5', 'shm-size': '134217728', ulimit: 'nofile=1024:2048', 'no-cache': 'final', 'context:assets': 'local:assets' });
    expect(args).to.not.have.property('platform');
    // The metadata file's record provenance (BUILDX_METADATA_PROVENANCE=max keeps its metadata).
    expect((meta['buildx.build.provenance'] as Slsa).metadata?.[VCS_METADATA]).to.deep.include({ vcs });

    // BUILDX_GIT_LABELS=full: the three labels on the image config, beside --label's.
    const { image } = await inspect(ref, '{{json .}}') as { image: { config: { Labels?: Record<string, string> } } };
    expect(image.config.Labels).to.deep.equal({
      'com.docker.image.source.entrypoint': 'Dockerfile', 'org.opencontainers.image.revision': sha,
      'org.opencontainers.image.source': REDACTED_REMOTE, team: 'infra',
    });

    const out = await history();
    expect(out).to.include({ Context: '.', Dockerfile: 'Dockerfile', VCSRepository: REDACTED_REMOTE, VCSRevision: sha });
    expect(out['Platform']).to.deep.equal([platform]);
    expect(out['NamedContexts']).to.deep.equal([{ Name: 'assets', Value: 'local:assets' }]);
    expect(out['Labels']).to.deep.equal([
      { Name: 'com.docker.image.source.entrypoint', Value: 'Dockerfile' }, { Name: 'org.opencontainers.image.revision', Value: sha },
      { Name: 'org.opencontainers.image.source', Value: REDACTED_REMOTE }, { Name: 'team', Value: 'infra' },
    ]);
    expect(out['Config']).to.deep.equal({ Network: 'none', ExtraHosts: ['db.local=10.0.0.5'], NoCacheFilter: ['final'], ShmSize: '134217728', Ulimit: 'nofile=1024:2048' });
    const pretty = ok(await tsbuild(['history', 'inspect', '--root', root()], { cwd: repo })).stdout;
    expect(pretty).to.contain(`VCS Repository:\t${REDACTED_REMOTE}\nVCS Revision:\t${sha}\n`);
    // `history ls --local` run in the checkout finds the build by its vcs:source, as BuildKit's repository filter.
    const local = ok(await tsbuild(['history', 'ls', '--root', root(), '--local', '--format', '{{.Ref}}'], { cwd: repo })).stdout;
    expect(local.trim().split('\n')).to.have.length(1);

    const everything = JSON.stringify(pushed) + JSON.stringify(meta) + JSON.stringify(image) + JSON.stringify(out) + pretty;
    expect(everything).to.not.contain(TOKEN);
  });

  it('leaves all of it out with BUILDX_GIT_INFO=false, and marks a dirty tree with BUILDX_GIT_CHECK_DIRTY', async () => {
    const { ref, meta } = await build('off', ['--no-cache'], { BUILDX_GIT_INFO: 'false' });
    const pushed = (await inspect(ref, '{{json .Provenance}}') as { SLSA: SlsaV1 }).SLSA;
    expect(pushed.runDetails.metadata.buildkit_metadata?.vcs).to.equal(undefined);
    expect((meta['buildx.build.provenance'] as Slsa).metadata?.[VCS_METADATA]).to.not.have.property('vcs');
    const { image } = await inspect(ref, '{{json .}}') as { image: { config: { Labels?: Record<string, string> } } };
    expect(image.config.Labels ?? {}).to.deep.equal({});
    const out = await history();
    expect(out).to.not.have.property('VCSRepository');
    expect(out).to.not.have.property('VCSRevision');
    expect(out['Config']).to.deep.equal({ NoCache: true });

    await writeFile(join(repo, 'untracked.txt'), 'new\n');
    const dirty = await build('dirty', [], { BUILDX_GIT_CHECK_DIRTY: 'true' });
    expect(((dirty.meta['buildx.build.provenance'] as Slsa).metadata?.[VCS_METADATA] as { vcs: Record<string, string> }).vcs['revision']).to.equal(`${sha}-dirty`);
    expect(await history()).to.include({ VCSRevision: `${sha}-dirty` });
  });
});
