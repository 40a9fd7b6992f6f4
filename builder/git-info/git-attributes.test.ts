import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitAttributes } from './git-attributes.js';

// buildx's build/git_test.go cases, on real checkouts made here.
describe('gitAttributes (buildx build/git.go getGitAttributes)', () => {
  let dir: string;
  let repo: string;
  let sha: string;
  const git = (args: string[], cwd = repo): string => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } }).trim();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-git-attrs-'));
    repo = join(dir, 'repo');
    await mkdir(join(repo, 'app'), { recursive: true });
    await writeFile(join(repo, 'Dockerfile'), 'FROM scratch\n');
    await writeFile(join(repo, 'app', 'Dockerfile'), 'FROM scratch\n');
    git(['init', '-q', '-b', 'main']);
    git(['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '--allow-empty', '-m', 'empty']);
    git(['add', '.']);
    git(['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '-m', 'files']);
    git(['remote', 'add', 'origin', 'https://ci-user:ghp_s3cr3t@github.com/acme/app.git']);
    sha = git(['rev-parse', 'HEAD']);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('sends vcs:source (credentials redacted as BuildKit does), vcs:revision and each local directory relative to the root', async () => {
    const got = await gitAttributes('.', undefined, { context: '.', dockerfile: 'app' }, {}, repo);
    expect(got).to.deep.equal({
      vcs: { 'vcs:revision': sha, 'vcs:source': 'https://xxxxx:xxxxx@github.com/acme/app.git', 'vcs:localdir:context': '.', 'vcs:localdir:dockerfile': 'app' },
      labels: {},
    });
    const sub = await gitAttributes(join(repo, 'app'), join(repo, 'app', 'Dockerfile'), { context: join(repo, 'app') }, {}, dir);
    expect(sub.vcs['vcs:localdir:context']).to.equal('app');
  });

  it('adds the three labels with BUILDX_GIT_LABELS=1 or full, and nothing at all with both switched off', async () => {
    for (const v of ['1', 'full']) {
      const got = await gitAttributes('.', 'app/Dockerfile', { context: '.' }, { BUILDX_GIT_LABELS: v, BUILDX_GIT_INFO: 'false' }, repo);
      expect(got).to.deep.equal({
        vcs: {},
        labels: { 'org.opencontainers.image.revision': sha, 'org.opencontainers.image.source': 'https://xxxxx:xxxxx@github.com/acme/app.git', 'com.docker.image.source.entrypoint': 'app/Dockerfile' },
      });
    }
    expect(await gitAttributes('.', undefined, { context: '.' }, { BUILDX_GIT_INFO: 'false' }, repo)).to.deep.equal({ vcs: {}, labels: {} });
  });

  it('takes the remote of the branch\'s upstream before origin, then upstream, and leaves the source out without a remote', async () => {
    const other = join(dir, 'other');
    await mkdir(other);
    git(['init', '-q', '-b', 'main'], other);
    git(['remote', 'add', 'upstream', 'git@github.com:acme/up.git'], other);
    expect((await gitAttributes('.', undefined, {}, {}, other)).vcs).to.deep.equal({ 'vcs:source': 'git@github.com:acme/up.git' });
    git(['remote', 'add', 'origin', 'https://github.com/acme/origin.git'], other);
    expect((await gitAttributes('.', undefined, {}, {}, other)).vcs).to.deep.equal({ 'vcs:source': 'https://github.com/acme/origin.git' });
    // The branch must exist for its upstream to be read (buildx's for-each-ref lists refs/heads/main).
    git(['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '--allow-empty', '-m', 'x'], other);
    git(['remote', 'add', 'fork', 'ssh://git@example.com/fork.git'], other);
    git(['config', 'branch.main.remote', 'fork'], other);
    git(['config', 'branch.main.merge', 'refs/heads/main'], other);
    expect((await gitAttributes('.', undefined, {}, {}, other)).vcs['vcs:source']).to.equal('ssh://xxxxx@example.com/fork.git');
    const bare = join(dir, 'no-remote');
    await mkdir(bare);
    git(['init', '-q'], bare);
    expect(await gitAttributes('.', undefined, { context: '.' }, {}, bare)).to.deep.equal({ vcs: { 'vcs:localdir:context': '.' }, labels: {} });
  });

  it('marks a dirty tree with BUILDX_GIT_CHECK_DIRTY, running none of the programs the checkout\'s configuration names', async () => {
    const probe = join(dir, 'ran');
    git(['config', 'core.fsmonitor', `touch ${probe}-fsmonitor; false`]);
    git(['config', 'filter.evil.clean', `touch ${probe}-filter; cat`]);
    await writeFile(join(repo, '.gitattributes'), '* filter=evil\n');
    // A changed stat makes status read the file again, through its clean filter.
    await utimes(join(repo, 'Dockerfile'), new Date(1e9), new Date(1e9));
    const got = await gitAttributes('.', undefined, {}, { BUILDX_GIT_CHECK_DIRTY: 'true' }, repo);
    expect(got.vcs['vcs:revision']).to.equal(`${sha}-dirty`);
    expect(existsSync(`${probe}-fsmonitor`), 'core.fsmonitor ran').to.equal(false);
    expect(existsSync(`${probe}-filter`), 'the clean filter ran').to.equal(false);
    expect((await gitAttributes('.', undefined, {}, {}, repo)).vcs['vcs:revision'], 'dirty only when asked').to.equal(sha);
  });

  it('starts no git at all for a directory with no .git in it or above it (a fork is milliseconds of every build)', async () => {
    const bin = join(dir, 'spy-bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'git'), `#!/bin/sh\ntouch ${join(dir, 'git-ran')}\nexit 1\n`, { mode: 0o755 });
    const outside = join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    const path = process.env.PATH;
    process.env.PATH = bin;
    try {
      expect(await gitAttributes(outside, undefined, {}, {}, dir)).to.deep.equal({ vcs: {}, labels: {} });
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(join(dir, 'git-ran')), 'git was started').to.equal(false);
  });

  /** A checkout `name` in the test's dir with one commit, its branch packed into packed-refs. */
  const packedCheckout = async (name: string): Promise<string> => {
    const at = join(dir, name);
    await mkdir(at);
    git(['init', '-q', '-b', 'main'], at);
    git(['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '--allow-empty', '-m', 'x'], at);
    git(['pack-refs', '--all'], at);
    return at;
  };

  it('reads a plain checkout from its files, starting no git, and asks git where its config rewrites URLs', async () => {
    const bin = join(dir, 'failing-bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'git'), `#!/bin/sh\ntouch ${join(dir, 'plain-git-ran')}\nexit 1\n`, { mode: 0o755 });
    // A packed branch whose upstream is another remote than origin: the files' answers too.
    const plain = await packedCheckout('plain-checkout');
    git(['remote', 'add', 'origin', 'https://github.com/acme/origin.git'], plain);
    git(['remote', 'add', 'fork', 'https://bot:tok@github.com/bot/app.git'], plain);
    git(['config', 'branch.main.remote', 'fork'], plain);
    const plainSha = git(['rev-parse', 'HEAD'], plain);
    const path = process.env.PATH;
    process.env.PATH = bin;
    try {
      const got = await gitAttributes('.', undefined, { context: '.' }, {}, plain);
      expect(got.vcs).to.deep.equal({ 'vcs:revision': plainSha, 'vcs:source': 'https://xxxxx:xxxxx@github.com/bot/app.git', 'vcs:localdir:context': '.' });
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(join(dir, 'plain-git-ran')), 'git was started for a plain checkout').to.equal(false);
    // `[branch.main]` (the old spelling of branch "main") is git's to read: its later remote wins there.
    await writeFile(join(plain, '.git', 'config'), `${await readFile(join(plain, '.git', 'config'), 'utf8')}[branch.main]\n\tremote = origin\n`);
    expect((await gitAttributes('.', undefined, {}, {}, plain)).vcs['vcs:source']).to.equal('https://github.com/acme/origin.git');
    const rewritten = await packedCheckout('rewritten');
    git(['remote', 'add', 'origin', 'gh:acme/app.git'], rewritten);
    git(['config', 'url.https://github.com/.insteadOf', 'gh:'], rewritten);
    const head = git(['rev-parse', 'HEAD'], rewritten);
    expect((await gitAttributes('.', undefined, {}, {}, rewritten)).vcs).to.deep.equal({ 'vcs:revision': head, 'vcs:source': 'https://github.com/acme/app.git' });
  });

  it('is quiet outside a repository, and warns as buildx when a .git cannot be read or there is no git', async () => {
    const plain = join(dir, 'plain');
    await mkdir(join(plain, '.git'), { recursive: true });
    expect(await gitAttributes(dir, undefined, {}, {}, dir)).to.deep.equal({ vcs: {}, labels: {} });
    expect((await gitAttributes(plain, undefined, {}, {}, dir)).warning)
      .to.equal('WARNING: current commit information was not captured by the build: failed to read current commit information with git rev-parse --is-inside-work-tree');
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-bin');
    try {
      const got = await gitAttributes(repo, undefined, {}, {}, dir);
      expect(got.vcs).to.deep.equal({});
      expect(got.warning).to.equal('WARNING: current commit information was not captured by the build: git was not found in the system: exec: "git": executable file not found in $PATH');
      expect((await gitAttributes(dir, undefined, {}, {}, dir)).warning).to.equal(undefined);
    } finally {
      process.env.PATH = path;
    }
  });
});
