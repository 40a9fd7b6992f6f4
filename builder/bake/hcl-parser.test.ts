import { expect } from 'chai';
import fc from 'fast-check';
import { BakeFileError } from './errors.js';
import { parseBakeFiles } from './config.js';
import { parseHcl } from './hcl-parser.js';

// Whatever text a bake file holds, reading it ends, and either succeeds or fails with a BakeFileError at a place in
// the file: never a TypeError, a stack overflow or a hang.

const builtins = { BAKE_CMD_CONTEXT: 'cwd://', BAKE_LOCAL_PLATFORM: 'linux/amd64' };
const pieces = ['target', 'group', 'variable', '"a"', '"${', '}', '{', '[', ']', '(', ')', '=', ',', '\n', ' ', 'x', '1', '?', ':', '%{', 'if', 'for', 'in',
  'endif', '<<EOT\n', 'EOT', '#', '/*', '*/', '.', '*', '-', '!', '==', '&&', '"', '\\', 'default', 'tags', 'args', 'null', 'true'];

describe('the HCL parser on arbitrary text', () => {
  it('ends and throws nothing but BakeFileError', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) => {
      const text = parts.join('');
      try {
        parseHcl(text, 'f.hcl');
        parseBakeFiles([{ name: 'f.hcl', text }], { lookupVar: () => undefined, builtins });
      } catch (err) {
        expect(err, String((err as Error)?.stack)).to.be.instanceOf(BakeFileError);
      }
    }), { numRuns: 3000 });
  });
});

describe('the HCL parser on deeply nested input', () => {
  it('refuses nesting past its bound at file:line instead of overflowing the stack', () => {
    const deep = (open: string, close: string, n: number): string => `target "a" {\n  args = { x = ${open.repeat(n)}1${close.repeat(n)} }\n}\n`;
    for (const text of [deep('[', ']', 50000), deep('(', ')', 50000), deep('!', '', 50000), 'a {'.repeat(50000) + '}'.repeat(50000)]) {
      expect(() => parseHcl(text, 'deep.hcl')).to.throw(BakeFileError, /deep\.hcl:\d+,\d+-\d+: .*nested more than 100 levels/);
    }
    expect(() => parseHcl(deep('[', ']', 20), 'ok.hcl')).not.to.throw();
  });
});

