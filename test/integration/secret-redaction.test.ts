import { expect } from 'chai';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startBuildEnv, type BuildEnv } from '../fixtures/build-env.js';
import { filesContaining } from '../fixtures/files-containing.js';
import { tsbuild, type CliResult } from '../fixtures/tsbuild-cli.js';

// What leaves the machine (issue 14.4): a secret-named build arg's value never reaches a report, the GitHub step
// summary, the build history or an attached report, through the real CLI and a real registry.

describe('secret-named build args in reports, history and attached reports', function () {
  this.timeout(240_000);
  let env: BuildEnv | undefined;
  let dir = '';
  const SECRET = 's3cr3t-gh-value';
  const SECRET2 = 'n3w-s3cr3t-value';

  before(async () => {
    env = await startBuildEnv('tsbuild-redact-');
    dir = env.dir;
  });
  after(async () => {
    await env?.stop();
  });

  function expectClean(what: string, text: string): void {
    expect(text, what).to.not.contain(SECRET);
    expect(text, what).to.not.contain(SECRET2);
  }

  it('keeps a token given to every build (CI style) out of the root, the reports, the summary, history and the artifact', async () => {
    const ctx = join(dir, 'unused');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env?.base ?? ''}\nARG MODE=dev\nRUN echo "$MODE" > /mode.txt\n`);
    const root = join(dir, 'root-unused');
    const summary = join(dir, 'summary.md');
    const ref = `${env?.registry.host ?? ''}/redact/unused:1`;
    const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--build-arg', `GITHUB_TOKEN=${SECRET}`, '--build-arg', 'MODE=release',
      '--report', join(dir, 'unused-report'), '-t', ref, '--push', '--attach-report', ctx], { env: { GITHUB_STEP_SUMMARY: summary } });
    expect(r.code, r.stderr).to.equal(0);
    expectClean('build output', r.stdout + r.stderr);
    for (const ext of ['json', 'md', 'html']) expectClean(`report .${ext}`, await readFile(join(dir, `unused-report.${ext}`), 'utf8'));
    expectClean('step summary', await readFile(summary, 'utf8'));
    const json = JSON.parse(await readFile(join(dir, 'unused-report.json'), 'utf8')) as { build: { args: Record<string, string> } };
    expect(json.build.args).to.deep.equal({ GITHUB_TOKEN: '<redacted>', MODE: 'release' });
    expect(await filesContaining(root, SECRET)).to.deep.equal([]);
    const history = await tsbuild(['history', '--root', root, '--json']);
    expectClean('history', history.stdout);
    const id = (JSON.parse(history.stdout) as { id: string }[])[0]?.id ?? '';
    const inspect = await tsbuild(['history', '--root', root, 'inspect', id, '--json']);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expectClean('history inspect', inspect.stdout);
    expect(inspect.stdout).to.contain('<redacted>');
    // The attached report, read back from the registry by another root (as another machine would).
    const attached = await tsbuild(['report', ref, '--root', join(dir, 'other-root'), '--format', 'json']);
    expect(attached.code, attached.stderr).to.equal(0);
    expectClean('attached report', attached.stdout);
    expect(attached.stdout).to.contain('<redacted>');
  });

  it('shows a changed secret arg as a miss reason with <redacted> values everywhere it is rendered', async () => {
    const ctx = join(dir, 'used');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${env?.base ?? ''}\nARG GITHUB_TOKEN\nENV API_TOKEN=$GITHUB_TOKEN\nRUN test -n "$GITHUB_TOKEN" && echo fetched > /out.txt\n`);
    const root = join(dir, 'root-used');
    const summary = join(dir, 'summary-used.md');
    const build = (value: string, report: string): Promise<CliResult> => tsbuild(['build', '--root', root, '--progress', 'plain', '--build-arg', `GITHUB_TOKEN=${value}`, '--report', join(dir, report), ctx], { env: { GITHUB_STEP_SUMMARY: summary } });
    const first = await build(SECRET, 'used-1');
    expect(first.code, first.stderr).to.equal(0);
    const second = await build(SECRET2, 'used-2');
    expect(second.code, second.stderr).to.equal(0);
    expectClean('build output', first.stdout + first.stderr + second.stdout + second.stderr);
    const report = JSON.parse(await readFile(join(dir, 'used-2.json'), 'utf8')) as { steps: { reasons: { reason: { kind: string; name?: string; before?: string; after?: string } }[] }[] };
    const argReasons = report.steps.flatMap((s) => s.reasons.map((x) => x.reason)).filter((x) => x.kind === 'arg' && x.name === 'GITHUB_TOKEN');
    expect(argReasons.length).to.be.greaterThan(0);
    for (const reason of argReasons) expect(reason).to.include({ before: '<redacted>', after: '<redacted>' });
    for (const file of ['used-1.json', 'used-1.md', 'used-1.html', 'used-2.json', 'used-2.md', 'used-2.html']) expectClean(file, await readFile(join(dir, file), 'utf8'));
    expectClean('step summary', await readFile(summary, 'utf8'));
    const history = await tsbuild(['history', '--root', root, '--json']);
    for (const b of JSON.parse(history.stdout) as { id: string }[]) {
      const inspect = await tsbuild(['history', '--root', root, 'inspect', b.id, '--json']);
      expectClean(`history inspect ${b.id}`, inspect.stdout);
      const text = await tsbuild(['history', '--root', root, 'inspect', b.id]);
      expectClean(`history inspect ${b.id} (text)`, text.stdout);
    }
    const shown = await tsbuild(['report', '--root', root, '--format', 'md']);
    expectClean('tsbuild report', shown.stdout);
    // Not checked here on purpose: the image's own config history (`RUN |1 GITHUB_TOKEN=… …`, as BuildKit writes it)
    // and the cache keys keep the value; that is what the build-time SecretsUsedInArgOrEnv warning is for.
    expect((await readdir(root)).length).to.be.greaterThan(0);
  });

  it('keeps the password of a URL (a proxy build arg, an ADD source) out of the reports, the summary and history, and sends an ADD URL\'s as Basic auth', async () => {
    const PROXY_PW = 'pr0xy-pw-value';
    const ADD_PW = 'hunter2-add-pw';
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization === `Basic ${Buffer.from(`alice:${ADD_PW}`).toString('base64')}` ? 200 : 401).end('payload\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const ctx = join(dir, 'url-creds');
      await mkdir(ctx, { recursive: true });
      const port = (server.address() as AddressInfo).port;
      await writeFile(join(ctx, 'Dockerfile'), `FROM ${env?.base ?? ''}\nADD http://alice:${ADD_PW}@127.0.0.1:${port}/file.txt /file.txt\nRUN cat /file.txt\n`);
      const root = join(dir, 'root-url');
      const summary = join(dir, 'summary-url.md');
      const r = await tsbuild(['build', '--root', root, '--progress', 'plain', '--build-arg', `HTTPS_PROXY=http://bob:${PROXY_PW}@10.0.0.1:3128`, '--build-arg', 'NO_PROXY=127.0.0.1',
        '--report', join(dir, 'url-report'), ctx], { env: { GITHUB_STEP_SUMMARY: summary } });
      expect(r.code, r.stderr).to.equal(0);
      expect(seen).to.include(`Basic ${Buffer.from(`alice:${ADD_PW}`).toString('base64')}`);
      const clean = (what: string, text: string): void => { expect(text, what).to.not.contain(PROXY_PW).and.not.contain(ADD_PW); };
      for (const ext of ['json', 'md', 'html']) clean(`report .${ext}`, await readFile(join(dir, `url-report.${ext}`), 'utf8'));
      clean('step summary', await readFile(summary, 'utf8'));
      const history = await tsbuild(['history', '--root', root, '--json']);
      const id = (JSON.parse(history.stdout) as { id: string }[])[0]?.id ?? '';
      clean('history inspect', (await tsbuild(['history', '--root', root, 'inspect', id, '--json'])).stdout);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
