// Runs BuildKit's Dockerfile parser corpus through tsbuild's frontend and reports what differs. A dev tool, not part
// of `make test`: the corpus is BuildKit's (Apache-2.0) and is not copied into this repository.
//
//   make build && scripts/node scripts/buildkit-corpus.ts PATH [-v]
//
// PATH is a BuildKit checkout or a bare git directory of one (e.g. /work/.mirror/moby+buildkit/repo, read at HEAD).
// Checked, under PATH/frontend/dockerfile:
//   parser/testfiles/*/Dockerfile          our dump (tsbuild debug parse --format dump) equals its `result`
//   parser/testfiles-negative/*/Dockerfile our parser refuses it with a located DockerfileError
//   parser/testfile-line/Dockerfile        instruction line ranges as BuildKit's TestParseIncludesLineNumbers expects
//   shell/envVarTest                       processWord, environment as lex_test.go's TestShellParser4EnvVars sets it
//   shell/wordsTest                        processWords, ENV lines accumulating as in TestShellParser4Words
// Exit status 0 only when everything passes. Runs the compiled frontend in dist/ (type stripping runs this file).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileError, dumpDockerfile, parseDockerfile, processWord, processWords } from '../dist/frontend/index.js';

// A checkout is read in place; a bare git dir is exported (frontend/dockerfile only) to a temp dir first.
function corpusRoot(path: string): { root: string; cleanup: () => void } {
  if (existsSync(join(path, 'frontend/dockerfile'))) return { root: join(path, 'frontend/dockerfile'), cleanup: () => undefined };
  const tmp = mkdtempSync(join(tmpdir(), 'buildkit-corpus-'));
  const tar = execFileSync('git', ['-C', path, 'archive', 'HEAD', 'frontend/dockerfile'], { maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', tmp], { input: tar });
  return { root: join(tmp, 'frontend/dockerfile'), cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

function dirs(path: string): string[] {
  return readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
}

// Where BuildKit's parse tree keeps what its instruction parser (instructions/parse.go) refuses a moment later, so a
// build fails there too: tsbuild refuses these while parsing, with their place. Such a line is taken out of both the
// Dockerfile and the expected dump, the rest still compared, and the line reported as deliberate.
const STRICTER: { re: RegExp; why: string }[] = [
  { re: /^unknown flag: /, why: 'unknown flags are refused at parse time (BuildKit: instructions.Parse)' },
  { re: /^HEALTHCHECK requires at least one argument/, why: 'a bare HEALTHCHECK is refused at parse time (BuildKit: instructions.Parse)' },
  { re: /^Missing command after HEALTHCHECK CMD/, why: 'HEALTHCHECK CMD without a command is refused at parse time (BuildKit: instructions.Parse)' },
  { re: /^Unknown type ".*" in HEALTHCHECK/, why: 'HEALTHCHECK types other than CMD/NONE are refused at parse time (BuildKit: instructions.Parse)' },
];

function testfiles(): { section: string; pass: number; fail: string[]; deliberate: string[] } {
  const base = join(root, 'parser/testfiles');
  const fail: string[] = [];
  const deliberate: string[] = [];
  let pass = 0;
  for (const name of dirs(base)) {
    const want = readFileSync(join(base, name, 'result'), 'utf8').split('\n');
    const lines = readFileSync(join(base, name, 'Dockerfile'), 'utf8').split('\n');
    const file = `${name}/Dockerfile`;
    let got: string | undefined;
    for (let tries = 0; got === undefined && tries < lines.length; tries++) {
      try {
        got = dumpDockerfile(parseDockerfile(lines.join('\n'), file));
      } catch (err) {
        const why = err instanceof DockerfileError ? STRICTER.find((s) => s.re.test(err.detail))?.why : undefined;
        if (why === undefined || !(err instanceof DockerfileError)) {
          fail.push(`${name}: ${describe(err)}`);
          break;
        }
        // The refused instruction starts at err.at.line and is the n-th: n = instructions parsed before that line.
        const line = err.at.line;
        const index = countInstructions(lines.slice(0, line - 1).join('\n'));
        deliberate.push(`${name}:${line}: ${lines[line - 1]?.trim() ?? ''}: ${why}`);
        lines[line - 1] = '#';
        want.splice(index, 1);
      }
    }
    if (got === undefined) continue;
    if (got === want.join('\n')) pass++;
    else fail.push(`${name}: dump differs\n${lineDiff(want.join('\n'), got)}`);
  }
  return { section: 'parser/testfiles', pass, fail, deliberate };
}

function countInstructions(text: string): number {
  try {
    return parseDockerfile(text).instructions.length;
  } catch {
    return 0; // only "file with no instructions" can happen: the lines before an instruction parsed already
  }
}

function lineDiff(want: string, got: string): string {
  const a = want.split('\n');
  const b = got.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) out.push(`    buildkit: ${a[i] ?? '(none)'}`, `    tsbuild:  ${b[i] ?? '(none)'}`);
  }
  return out.join('\n');
}

function negative(): { section: string; pass: number; fail: string[] } {
  const base = join(root, 'parser/testfiles-negative');
  const fail: string[] = [];
  let pass = 0;
  for (const name of dirs(base)) {
    try {
      const df = parseDockerfile(readFileSync(join(base, name, 'Dockerfile'), 'utf8'), `${name}/Dockerfile`);
      fail.push(`${name}: parsed without error\n${dumpDockerfile(df)}`);
    } catch (err) {
      if (err instanceof DockerfileError && err.hint !== undefined) pass++;
      else fail.push(`${name}: not a DockerfileError with a hint: ${describe(err)}`);
    }
  }
  return { section: 'parser/testfiles-negative', pass, fail };
}

function lineInfo(): { section: string; pass: number; fail: string[] } {
  // TestParseIncludesLineNumbers: three instructions spanning these lines.
  const want = [[5, 5], [11, 12], [17, 31]];
  try {
    const df = parseDockerfile(readFileSync(join(root, 'parser/testfile-line/Dockerfile'), 'utf8'));
    const got = df.instructions.map((i) => [i.location.line, i.location.endLine]);
    if (JSON.stringify(got) === JSON.stringify(want)) return { section: 'parser/testfile-line', pass: 1, fail: [] };
    return { section: 'parser/testfile-line', pass: 0, fail: [`line ranges ${JSON.stringify(got)}, want ${JSON.stringify(want)}`] };
  } catch (err) {
    return { section: 'parser/testfile-line', pass: 0, fail: [describe(err)] };
  }
}

function envVarTest(): { section: string; pass: number; fail: string[] } {
  const env: Record<string, string> = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };
  const lookup = (n: string): string | undefined => (Object.hasOwn(env, n) ? env[n] : undefined);
  const fail: string[] = [];
  let pass = 0;
  readFileSync(join(root, 'shell/envVarTest'), 'utf8').split('\n').forEach((raw, idx) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const [platform = '', src = '', expected = ''] = line.split('|').map((s) => s.trim());
    if (platform === 'W') return; // Windows-only expectations ($pwd == $PWD there)
    let got: string;
    try {
      got = processWord(src, lookup).result;
    } catch (err) {
      got = `error (${describe(err)})`;
    }
    const ok = expected === 'error' ? got.startsWith('error (') : got === expected;
    if (ok) pass++;
    else fail.push(`envVarTest:${idx + 1}: ${JSON.stringify(src)} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
  });
  return { section: 'shell/envVarTest', pass, fail };
}

function wordsTest(): { section: string; pass: number; fail: string[] } {
  const env = new Map<string, string>();
  const fail: string[] = [];
  let pass = 0;
  readFileSync(join(root, 'shell/wordsTest'), 'utf8').split('\n').forEach((line, idx) => {
    if (line.startsWith('#') || line === '') return;
    if (line.startsWith('ENV ')) {
      const kv = line.slice(3).replace(/^ +/, '');
      const eq = kv.indexOf('=');
      env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
      return;
    }
    const [src = '', want = ''] = line.split('|');
    const expected = want.replace(/^ +/, '').split(',');
    let got: string[];
    try {
      got = processWords(src.trim(), (n) => env.get(n));
    } catch {
      got = ['error'];
    }
    if (JSON.stringify(got) === JSON.stringify(expected)) pass++;
    else fail.push(`wordsTest:${idx + 1}: ${JSON.stringify(src.trim())} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
  });
  return { section: 'shell/wordsTest', pass, fail };
}

let root = '';

function main(): void {
  const args = process.argv.slice(2);
  const verbose = args.includes('-v');
  const source = args.find((a) => a !== '-v');
  if (source === undefined) {
    console.error('usage: scripts/node scripts/buildkit-corpus.ts PATH-TO-BUILDKIT [-v]');
    process.exit(2);
  }

  const { root: dir, cleanup } = corpusRoot(source);
  root = dir;
  const results: { section: string; pass: number; fail: string[]; deliberate?: string[] }[] = [];
  try {
    results.push(testfiles(), negative(), lineInfo(), envVarTest(), wordsTest());
  } finally {
    cleanup();
  }
  let failed = 0;
  for (const r of results) {
    failed += r.fail.length;
    console.log(`${r.section}: ${r.pass}/${r.pass + r.fail.length} pass${r.deliberate?.length ? ` (${r.deliberate.length} lines refused deliberately, the rest of their files compared)` : ''}`);
    for (const f of r.fail) console.log(`  FAIL ${verbose ? f : (f.split('\n')[0] ?? '')}`);
    for (const d of r.deliberate ?? []) console.log(`  stricter ${d}`);
  }
  const total = results.reduce((n, r) => n + r.pass + r.fail.length, 0);
  console.log(`${total - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main();
