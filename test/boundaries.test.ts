import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Keeps the arrows of STYLE.md §1 one-way: every relative import in the sources is checked against the table.
// Changing the table means changing this test, in a reviewed commit.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Folder = 'common' | 'frontend' | 'solver' | 'worker' | 'registry' | 'registry/oci' | 'builder' | 'test' | 'bench';

/** Runtime imports allowed from each folder (besides itself). */
const runtime: Record<Folder, Folder[]> = {
  common: [],
  'registry/oci': [],
  registry: ['common', 'registry/oci'],
  frontend: ['common', 'registry/oci'],
  solver: ['common', 'frontend', 'registry/oci'],
  worker: ['common', 'frontend', 'registry/oci'],
  builder: ['common', 'frontend', 'solver', 'worker', 'registry', 'registry/oci'],
  test: ['common', 'frontend', 'solver', 'worker', 'registry', 'registry/oci', 'builder', 'bench'],
  bench: ['common', 'frontend', 'solver', 'worker', 'registry', 'registry/oci', 'builder', 'test'],
};
/** Type-only imports allowed on top of the runtime ones. */
const typeOnly: Partial<Record<Folder, Folder[]>> = { worker: ['solver'] };

function folderOf(file: string): Folder | undefined {
  const rel = relative(root, file).split(sep);
  if (rel[0] === 'registry' && rel[1] === 'oci') return 'registry/oci';
  const top = rel[0] as Folder;
  return top in runtime ? top : undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const IMPORT_RE = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

describe('folder boundaries', () => {
  const violations: string[] = [];
  for (const top of ['common', 'frontend', 'solver', 'worker', 'registry', 'builder']) {
    for (const file of sources(join(root, top))) {
      if (file.endsWith('.test.ts')) continue;   // tests may reach across folders to build fixtures
      const from = folderOf(file);
      if (!from) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
        const isType = Boolean(m[2]);
        const to = folderOf(resolve(dirname(file), m[3] ?? ''));
        if (!to || to === from || (from === 'registry/oci' && to === 'registry/oci')) continue;
        if (from === 'registry' && to === 'registry/oci') continue;
        const allowed = runtime[from].includes(to) || (isType && (typeOnly[from] ?? []).includes(to));
        if (!allowed) violations.push(`${relative(root, file)} imports ${isType ? 'type ' : ''}${m[3]} (${from} → ${to})`);
      }
    }
  }

  it('allows only the imports in the STYLE.md table', () => {
    expect(violations).to.deep.equal([]);
  });

  // The two leaves: each imports nothing but itself (node: builtins and packages are not relative imports).
  for (const leaf of ['registry/oci', 'common'] as const) {
    it(`keeps ${leaf} free of any import from outside itself`, () => {
      for (const file of sources(join(root, leaf))) {
        for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
          expect(folderOf(resolve(dirname(file), m[3] ?? '')), `${file}: ${m[3]}`).to.equal(leaf);
        }
      }
    });
  }

  it('leaves no copy of a common/ helper behind in another folder', () => {
    const copies: string[] = [];
    for (const top of ['frontend', 'solver', 'worker', 'registry', 'builder']) {
      for (const file of sources(join(root, top))) {
        const text = readFileSync(file, 'utf8');
        if (/^export (abstract )?class TsbuildError\b|^export function (isProcessAlive|openSharedDb|crashPoint|systemCAs|noProxyWithLoopback)\b/m.test(text)) copies.push(relative(root, file));
        if (/process\.env\[?['"]?TSBUILD_CRASH_AT/.test(text)) copies.push(`${relative(root, file)} (reads TSBUILD_CRASH_AT)`);
      }
    }
    expect(copies).to.deep.equal([]);
  });
});
