import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { compile } from '../compile/compile.js';
import { parseDockerfile } from './parse-dockerfile.js';

// Golden files: frontend/testdata/<name>.Dockerfile parses to <name>.parse.json. Set UPDATE_GOLDEN=1 to rewrite them
// after an intended change, then review the diff.
const dir = new URL('../../../frontend/testdata/', import.meta.url);

describe('parseDockerfile: golden corpus', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.Dockerfile'));

  it('has realistic Dockerfiles to check', () => {
    expect(files.length).to.be.greaterThanOrEqual(3);
  });

  for (const file of files) {
    it(`parses testdata/${file} exactly as its golden JSON says`, () => {
      const text = readFileSync(new URL(file, dir), 'utf8');
      const actual = JSON.parse(JSON.stringify(parseDockerfile(text, file))) as unknown;
      const golden = new URL(file.replace(/\.Dockerfile$/, '.parse.json'), dir);
      if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, JSON.stringify(actual, null, 2) + '\n');
      expect(actual).to.deep.equal(JSON.parse(readFileSync(golden, 'utf8')));
    });

    it(`compiles testdata/${file} for its last stage`, async () => {
      const text = readFileSync(new URL(file, dir), 'utf8');
      const platform = { os: 'linux', architecture: 'amd64' };
      const graph = await compile(text, {
        file,
        platform,
        buildPlatform: platform,
        resolveImage: async (ref) => ({ ref, digest: `sha256:${'a'.repeat(64)}`, config: { ...platform, rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['PATH=/usr/bin:/bin'] } } }),
      });
      const target = graph.stages[graph.target];
      expect(target?.result).to.equal(graph.vertices[graph.vertices.length - 1]?.id);
      expect(graph.vertices.every((v) => v.location?.file === file)).to.equal(true);
    });
  }
});
