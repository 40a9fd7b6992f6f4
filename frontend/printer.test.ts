import { expect } from 'chai';
import fc from 'fast-check';
import type { Flag, Heredoc, Instruction } from './ast.js';
import { parseDockerfile } from './parser/parse-dockerfile.js';
import { printDockerfile } from './printer.js';

// Round trip: a generated instruction list, printed, parses back to the same instructions.

const word = fc.stringMatching(/^[a-z0-9_.\/=-]{1,12}$/);
const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const command = fc.array(word, { minLength: 1, maxLength: 5 }).map((ws) => ws.join(' '));
const anyString = fc.string({ maxLength: 12 });
const flag = (n: string, value: fc.Arbitrary<string | undefined>): fc.Arbitrary<Flag> => value.map((v) => ({ name: n, value: v, raw: v === undefined ? `--${n}` : `--${n}=${v}` }));
const heredocName = fc.constantFrom('EOF', 'EOT', 'SCRIPT');

type Shape = Pick<Instruction, 'keyword' | 'flags' | 'args' | 'json' | 'heredocs'>;
const inst = (keyword: string, args: string[], extra: Partial<Shape> = {}): Shape => ({ keyword, flags: [], args, json: false, heredocs: [], ...extra });

const instruction: fc.Arbitrary<Shape> = fc.oneof(
  fc.tuple(word, fc.option(name, { nil: undefined }), fc.option(flag('platform', fc.constant('linux/amd64')), { nil: undefined })).map(([img, as, p]) => inst('FROM', as ? [img, 'AS', as] : [img], { flags: p ? [p] : [] })),
  command.map((c) => inst('RUN', [c])),
  fc.array(anyString, { maxLength: 4 }).map((xs) => inst('RUN', xs.length ? xs : ['x'], { json: true })),
  fc.tuple(fc.array(word, { minLength: 2, maxLength: 4 }), fc.option(flag('from', name), { nil: undefined }), fc.boolean()).map(([ws, from, link]) => inst('COPY', ws, { flags: [...(from ? [from] : []), ...(link ? [{ name: 'link', value: undefined, raw: '--link' }] : [])] })),
  fc.array(fc.tuple(name, word), { minLength: 1, maxLength: 3 }).map((kv) => inst('ENV', kv.map(([k, v]) => `${k}=${v}`))),
  fc.array(fc.tuple(name, word), { minLength: 1, maxLength: 3 }).map((kv) => inst('LABEL', kv.map(([k, v]) => `${k}=${v}`))),
  fc.array(fc.oneof(name, fc.tuple(name, word).map(([k, v]) => `${k}=${v}`)), { minLength: 1, maxLength: 3 }).map((xs) => inst('ARG', xs)),
  fc.array(anyString, { maxLength: 3 }).map((xs) => inst('CMD', xs, { json: true })),
  command.map((c) => inst('ENTRYPOINT', [c])),
  word.map((w) => inst('WORKDIR', [`/${w}`])),
  word.map((w) => inst('USER', [w])),
  fc.array(fc.integer({ min: 1, max: 65535 }).map(String), { minLength: 1, maxLength: 3 }).map((ps) => inst('EXPOSE', ps)),
  fc.tuple(heredocName, fc.array(command, { maxLength: 3 }), fc.boolean()).map(([n, lines, chomp]): Shape => {
    const doc: Heredoc = { name: n, content: lines.map((l) => `${l}\n`).join(''), expand: true, chomp, fd: 0 };
    return inst('RUN', [`${chomp ? '<<-' : '<<'}${n}`], { heredocs: [doc] });
  }),
);

const shape = (i: Instruction): Shape => ({ keyword: i.keyword, flags: i.flags.map((f) => ({ ...f })), args: i.args, json: i.json, heredocs: i.heredocs });

describe('printDockerfile', () => {
  it('prints instructions that parse back to the same instructions', () => {
    fc.assert(
      fc.property(fc.array(instruction, { minLength: 1, maxLength: 12 }), (insts) => {
        const loc = { file: 'Dockerfile', line: 1, column: 1, endLine: 1, endColumn: 1 };
        const text = printDockerfile({ file: 'Dockerfile', escapeToken: '\\', directives: [], instructions: insts.map((i) => ({ ...i, original: '', location: loc })) });
        const parsed = parseDockerfile(text).instructions.map(shape);
        expect(parsed).to.deep.equal(insts.map((i) => ({ ...i, flags: i.flags.map((f) => ({ ...f })) })), text);
      }),
      { numRuns: 1000 },
    );
  });

  it('reprints a parsed Dockerfile to a fixed point', () => {
    const text = '# syntax=docker/dockerfile:1\nfrom alpine as base\nrun echo a \\\n  && echo b\nCOPY --chown="a b" x /y/\nRUN <<EOF\necho hi\nEOF\nONBUILD RUN make\n';
    const once = printDockerfile(parseDockerfile(text));
    expect(printDockerfile(parseDockerfile(once))).to.equal(once);
    expect(once).to.equal('# syntax=docker/dockerfile:1\nFROM alpine as base\nRUN echo a   && echo b\nCOPY --chown="a b" x /y/\nRUN <<EOF\necho hi\nEOF\nONBUILD RUN make\n');
  });

  it('keeps the legacy `ENV key value` form, so the BuildKit dump of the reprint is the same', () => {
    const once = printDockerfile(parseDockerfile('FROM a\nENV PATH /usr/bin:$PATH\nLABEL a=b\n'));
    expect(once).to.equal('FROM a\nENV PATH /usr/bin:$PATH\nLABEL a=b\n');
    expect(parseDockerfile(once).instructions[1]?.legacyKeyValue).to.equal(true);
  });
});
