import { expect } from 'chai';
import fc from 'fast-check';
import { compile } from '../compile/compile.js';
import { DockerfileError } from '../errors.js';
import { parseDockerfile } from './parse-dockerfile.js';

// Dockerfile-flavoured noise: keywords, flags, quotes, escapes, heredoc markers, expansions and newlines, so the
// generator reaches deep into the parser instead of stopping at "unknown instruction".
const token = fc.constantFrom(
  'FROM ', 'RUN ', 'COPY ', 'ADD ', 'ENV ', 'ARG ', 'LABEL ', 'CMD ', 'ENTRYPOINT ', 'WORKDIR ', 'USER ', 'ONBUILD ',
  'HEALTHCHECK ', 'SHELL ', 'EXPOSE ', 'VOLUME ', 'STOPSIGNAL ', 'MAINTAINER ', 'AS ', 'scratch', 'alpine', 'build',
  '--from=', '--mount=', 'type=cache,target=/c', '--platform=', '--chown=', '--link', '--', '<<', '<<-', 'EOF', '"', "'",
  '\\', '`', '$', '${', '}', ':-', '#', '##', '%', '/', '[', ']', '",', '=', ' ', '\t', '\n', '\n', '\r\n', 'a', '0',
  '# escape=`\n', '# syntax=x\n', 'NONE', 'CMD', '.', '*',
);
const dockerfileish = fc.array(fc.oneof(token, fc.string({ maxLength: 3 })), { maxLength: 40 }).map((parts) => parts.join(''));

const isAllowed = (err: unknown): boolean => err instanceof DockerfileError;

describe('parser and compiler properties', () => {
  it('parseDockerfile returns a Dockerfile or throws DockerfileError for any input', () => {
    fc.assert(
      fc.property(fc.oneof(dockerfileish, fc.string()), (text) => {
        try {
          const df = parseDockerfile(text);
          expect(df.instructions).to.be.an('array');
        } catch (err) {
          if (!isAllowed(err)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('compile returns a graph or rejects with DockerfileError for any input', async () => {
    const resolveImage = async (ref: string): Promise<{ ref: string; digest: `sha256:${string}`; config: { architecture: string; os: string; rootfs: { type: 'layers'; diff_ids: [] } } }> => ({ ref, digest: `sha256:${'1'.repeat(64)}`, config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } } });
    const platform = { os: 'linux', architecture: 'amd64' };
    await fc.assert(
      fc.asyncProperty(dockerfileish, async (body) => {
        try {
          const graph = await compile(`FROM alpine AS base\n${body}`, { platform, buildPlatform: platform, resolveImage });
          expect(graph.stages.length).to.be.greaterThan(0);
          const ids = new Set<string>();
          for (const v of graph.vertices) {
            for (const input of v.inputs) expect(ids.has(input), `${v.id} reads ${input} before it exists`).to.equal(true);
            ids.add(v.id);
          }
        } catch (err) {
          if (!isAllowed(err)) throw err;
        }
      }),
      { numRuns: 1500 },
    );
  });
});
