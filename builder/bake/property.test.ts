import { expect } from 'chai';
import fc from 'fast-check';
import { isTsbuildError } from '../../common/index.js';
import { FUNCTION_NAMES } from './functions.js';
import { parseBakeFiles, printDefinition, resolveTargets } from './index.js';

// A bake file from a pull request either defines targets or is refused with a bake-file error: whatever the parser,
// the evaluator or a function meets must not end in anything else (an internal error, exit 70).

/** parseBakeFiles → resolveTargets → printDefinition; a TsbuildError is an answer, anything else is thrown. */
function bake(name: string, text: string): void {
  try {
    const config = parseBakeFiles([{ name, text }], { lookupVar: () => undefined, builtins: {} });
    expect(printDefinition(resolveTargets(config, ['default'], []))).to.be.a('string');
  } catch (err) {
    if (!isTsbuildError(err)) throw err;
  }
}

// HCL-flavoured noise: block and attribute words, brackets, template and heredoc syntax, escapes, operators, names
// JavaScript's objects carry, and every function's name, so the generator reaches the evaluator and the functions.
const token = fc.constantFrom(
  'target', 'variable', 'group', 'function', '"default"', '"t"', '{', '}', '[', ']', '(', ')', '=', ':', ',', '\n', ' ', '"',
  '${', '%{', 'if ', 'else', 'endif', 'for ', 'endfor', ' in ', '=>', '...', '?', '!', '-', '+', '*', '/', '%', '==', '&&', '<',
  '.', '[*]', '.*', '~', '<<EOT\n', '<<-EOT\n', '\nEOT\n', '#', '//', '/*', '*/', '\\', '\\u', '\\ud800', '\\UFFFFFFFF', '\\n',
  '0', '1', '-1', '1.5', '1e300', 'true', 'null', 'args', 'tags', 'matrix', 'name', 'inherits', 'contexts', 'params', 'result',
  'default', 'type', 'validation', 'x', 'v', '__proto__', '"__proto__"', 'constructor', 'toString', 'target.t.tags', 'target.default',
  ...FUNCTION_NAMES.map((f) => `${f}(`), 'try(', 'can(', 'convert(', 'list(string)', 'map(any)', 'object({', 'range(1024)',
);
const noise = fc.array(fc.oneof(token, fc.string({ maxLength: 3 })), { maxLength: 40 }).map((parts) => parts.join(''));

// Values that functions choke on: odd strings (format verbs, CSV, JSON, CIDRs, times, versions, patterns), numbers at
// the edges, lists and maps of mixed or nested types.
const value = fc.constantFrom(
  '""', '"a"', '"\\n"', '"%d %s"', '"%-5s"', '"%.3f"', '"%9999999d"', '"%q"', '"%v"', '"\\U0001F600"', '"a,b\\n1,2"', '"a,a\\n1,2"',
  '"[1,[2]]"', '"{\\"__proto__\\":1}"', '"\\"\\\\ud800\\""', '"10.0.0.0/8"', '"::/0"', '"2020-01-01T00:00:00Z"', '"1h2m"', '"9999999999h"',
  '">= 1.0, < 2"', '"1.2 - 1.4"', '"(a)(?P<x>b)"', '"["', '"$1${x}"', '"dns"', '"YYYY-MM-DD EEEE"', '0', '1', '-1', '0.5', '33',
  '1e300', '-1e300', '9007199254740993', '1/0', 'true', 'null', '[]', '{}', '[1, "1", true]', '[[1], [2, [3]]]', '["a", "a"]',
  '{a = 1, b = [2]}', '{"__proto__" = 1}', '[{a = 1}, {a = 1}]', 'range(5)',
);
const call = fc.record({
  fn: fc.constantFrom(...FUNCTION_NAMES.filter((f) => f !== 'timestamp' && f !== 'uuidv4')),
  args: fc.array(value, { maxLength: 4 }),
  isExpanded: fc.boolean(),
}).map(({ fn, args, isExpanded }) => `${fn}(${args.join(', ')}${isExpanded && args.length ? '...' : ''})`);

describe('bake files as hostile input (properties)', () => {
  it('defines targets or throws a TsbuildError for any HCL-flavoured noise, as a file, an attribute\'s value or a block\'s body', () => {
    fc.assert(
      fc.property(noise, (body) => {
        bake('docker-bake.hcl', body);
        bake('docker-bake.hcl', `target "default" {\n  args = { A = ${body} }\n}\n`);
        bake('docker-bake.hcl', `variable "v" {\n  default = ${body}\n}\ntarget "default" {\n  tags = [v]\n}\n`);
        bake('docker-bake.hcl', `target "default" {\n  ${body}\n}\n`);
        bake('docker-bake.json', `{"target": {"default": {"args": {"A": ${JSON.stringify(body)}}}}}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('answers every stdlib function called with awkward arguments with a value or a bake-file error', () => {
    fc.assert(
      fc.property(call, call, (inner, outer) => {
        bake('docker-bake.hcl', `target "default" {\n  args = { A = jsonencode(${inner}), B = jsonencode(${outer.replace('(', `(${inner}, `)}) }\n}\n`);
      }),
      { numRuns: 1500 },
    );
  });
});
