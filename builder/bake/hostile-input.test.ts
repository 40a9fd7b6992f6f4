import { expect } from 'chai';
import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { printEachInChild, printInChild } from '../../test/fixtures/bake-in-child.js';
import { parseBakeFiles, printDefinition, resolveTargets, type BakeFile } from './index.js';
import { failure } from '../../test/fixtures/tsbuild-failure.js';

// Bake files are read from the pull requests CI runs `tsbuild bake` on: whatever such a file holds must end in its
// definition or in a bake-file error (exit 1, file:line,col), never in an internal error, a hang or an exhausted heap.

const builtins = { BAKE_CMD_CONTEXT: 'cwd://', BAKE_LOCAL_PLATFORM: 'linux/amd64' };

function print(files: BakeFile[] | string, targets: string[] = ['default']): { group?: Record<string, { targets: string[] }>; target: Record<string, { args?: Record<string, string>; tags?: string[] }> } {
  const list = typeof files === 'string' ? [{ name: 'docker-bake.hcl', text: files }] : files;
  const config = parseBakeFiles(list, { lookupVar: () => undefined, builtins });
  return JSON.parse(printDefinition(resolveTargets(config, targets, []))) as ReturnType<typeof print>;
}

/** The default target's args, from `args = { … }` written into one. */
const argsOf = (args: string): Record<string, string> | undefined => print(`target "default" {\n  args = ${args}\n}\n`).target.default?.args;


describe('bake files from hostile pull requests', () => {
  it('keeps map keys named like JavaScript\'s Object.prototype as data: __proto__ is a key, toString and constructor are not in every map', () => {
    // The expected `__proto__` keys are computed ([…]): written plainly, such a key sets the literal's prototype.
    expect(argsOf('{ "__proto__" = "x", "constructor" = "y" }')).to.deep.equal({ ['__proto__']: 'x', constructor: 'y' });
    expect(argsOf(`{
      GROUPED = jsonencode({ for k in ["__proto__", "__proto__"] : k => 1... })
      LOOKUP = lookup({}, "toString", "absent")
      HAS = hasindex({}, "constructor")
      MERGED = jsonencode(merge({ "__proto__" = { a = 1 } }, { b = 2 }))
      EQUAL = jsonencode({ "__proto__" = 1 } == { "__proto__" = 1 })
    }`)).to.deep.equal({ GROUPED: '{"__proto__":[1,1]}', LOOKUP: 'absent', HAS: 'false', MERGED: '{"__proto__":{"a":1},"b":2}', EQUAL: 'true' });
    expect(() => argsOf('{ A = {}.constructor }')).to.throw('this object has no attribute "constructor"');
    expect(() => print('target "default" {\n  args = { A = toString }\n}\n')).to.throw('There is no variable named "toString"');
    expect(() => print('target "default" {\n  constructor = "x"\n}\n')).to.throw('An argument named "constructor" is not expected here');
  });

  it('builds targets and groups named __proto__ and constructor, and reads target.constructor', () => {
    const hcl = `
target "__proto__" {
  tags = ["a"]
}
target "constructor" {
  tags = ["b"]
}
target "default" {
  contexts = { c = "target:constructor" }
  args = { B = target.constructor.tags[0] }
}
group "all" {
  targets = ["__proto__", "default"]
}`;
    const doc = print(hcl, ['all']);
    expect(Object.keys(doc.target).sort()).to.deep.equal(['__proto__', 'constructor', 'default']);
    expect(doc.target.__proto__?.tags).to.deep.equal(['a']);
    expect(doc.target.default?.args).to.deep.equal({ B: 'b' });
  });

  it('reads compose services and args named __proto__ and toString', () => {
    const yaml = 'services:\n  __proto__:\n    build: .\n  app:\n    build:\n      context: .\n      args:\n        __proto__: x\n        toString: y\n';
    const doc = print([{ name: 'compose.yaml', text: yaml }]);
    expect(Object.keys(doc.target).sort()).to.deep.equal(['__proto__', 'app']);
    expect(doc.target.app?.args).to.deep.equal({ ['__proto__']: 'x', toString: 'y' });
  });

  it('refuses heredocs in heredocs and %{if} or %{for} directives nested past the parser\'s bound, at their place', () => {
    let heredocs = '';
    for (let i = 0; i < 3000; i++) heredocs += `<<H${i}\n\${`;
    heredocs += '"x"';
    for (let i = 2999; i >= 0; i--) heredocs += `}\nH${i}\n`;
    const deep = [
      `target "default" {\n  args = { A = ${heredocs} }\n}\n`,
      `target "default" {\n  args = { A = "${'%{if true}'.repeat(20000)}x${'%{endif}'.repeat(20000)}" }\n}\n`,
      `target "default" {\n  args = { A = "${'%{for x in [1]}'.repeat(20000)}x${'%{endfor}'.repeat(20000)}" }\n}\n`,
    ];
    for (const hcl of deep) {
      const err = failure(() => print(hcl));
      expect(err.code).to.equal('BAKE_DEFINITION');
      expect(err.message).to.match(/^docker-bake\.hcl:\d+,\d+-\d+: expression nested more than 100 levels deep$/);
    }
    // 100 levels of directives are still read.
    expect(argsOf(`{ A = "${'%{if true}'.repeat(90)}x${'%{endif}'.repeat(90)}" }`)).to.deep.equal({ A: 'x' });
  });

  it('refuses an escape UTF-8 cannot encode as hcl does, reads JSON\'s lone surrogate as U+FFFD as Go does, and URL-encodes every string', () => {
    for (const escape of ['\\ud800', '\\UFFFFFFFF']) {
      const err = failure(() => argsOf(`{ A = "${escape}" }`));
      expect(err.message).to.match(/^docker-bake\.hcl:2,\d+-\d+: Invalid escape sequence; Cannot encode character U\+(d800|ffffffff) in UTF-8\.$/);
    }
    expect(argsOf('{ A = urlencode(jsondecode("\\"\\\\ud800x\\"")), B = jsonencode(split("", "a\\U0001F600b")) }')).to.deep.equal({ A: '%EF%BF%BDx', B: '["a","\u{1F600}","b"]' });
    const json = '{"target": {"default": {"args": {"A": "\\ud83d\\ude00 \\ud800"}}}}';
    expect(print([{ name: 'docker-bake.json', text: json }]).target.default?.args).to.deep.equal({ A: '\u{1F600} \ufffd' });
  });

  it('refuses chains of variables, attributes, target references and deep JSON past the evaluator\'s bound, at their place', () => {
    // Top-level attributes are evaluated when used; variables and targets all are.
    const chains: [string, string][] = [
      ['attributes', Array.from({ length: 20000 }, (_, i) => `v${i} = v${i + 1}\n`).join('') + 'v20000 = 1\ntarget "use" {\n  tags = [v0]\n}\n'],
      ['variables', Array.from({ length: 5000 }, (_, i) => `variable "v${i}" {\n  default = v${i + 1}\n}\n`).join('') + 'v5000 = 1\n'],
      ['targets', Array.from({ length: 5000 }, (_, i) => `target "t${i}" {\n  tags = target.t${i + 1}.tags\n}\n`).join('') + 'target "t5000" {\n  tags = ["a"]\n}\n'],
    ];
    for (const [what, hcl] of chains) {
      const err = failure(() => print(`${hcl}target "default" {\n}\n`));
      expect(err.code, what).to.equal('BAKE_DEFINITION');
      expect(err.message, what).to.match(/^docker-bake\.hcl:\d+,\d+-\d+: evaluation nested more than 500 levels deep$/);
    }
    // 400 variables in a chain are read.
    const chain = Array.from({ length: 400 }, (_, i) => `variable "v${i}" {\n  default = v${i + 1}\n}\n`).join('');
    expect(print(`${chain}v400 = "end"\ntarget "default" {\n  tags = [v0]\n}\n`).target.default?.tags).to.deep.equal(['end']);
    // Values too deep to compare or print: JSON past 1000 levels is refused, a deep value compared is not a crash.
    const json = (n: number): string => `"${'['.repeat(n)}${']'.repeat(n)}"`;
    expect(failure(() => argsOf(`{ A = jsonencode(jsondecode(${json(20000)})) }`)).message).to.contain('Call to function "jsondecode" failed: JSON nested more than 1000 levels deep.');
    expect(argsOf(`{ A = jsondecode(${json(1000)}) == jsondecode(${json(1000)}) }`)).to.deep.equal({ A: 'true' });
  });

  it('reads a variable whose default is another target\'s attribute', () => {
    expect(print('variable "V" {\n  default = target.base.tags\n}\ntarget "base" {\n  tags = ["b"]\n}\ntarget "default" {\n  tags = V\n}\n').target.default?.tags).to.deep.equal(['b']);
  });

  it('evaluates a target that others read through long fanned-out chains of target.NAME once', async () => {
    // t0 reads t1 twice, t1 reads t2 twice …: evaluated again at each reference, that is 2^40 evaluations of t40.
    const hcl = Array.from({ length: 40 }, (_, i) => `target "t${i}" {\n  tags = [target.t${i + 1}.tags[0], target.t${i + 1}.tags[1]]\n}\n`).join('')
      + 'target "t40" {\n  tags = ["a", "b"]\n}\n';
    expect(await printInChild([{ name: 'docker-bake.hcl', text: hcl }], { targets: ['t0'] })).to.deep.equal({
      definition: { group: { default: { targets: ['t0'] } }, target: { t0: { context: '.', dockerfile: 'Dockerfile', tags: ['a', 'b'] } } },
    });
  });

  it('resolves chains of 20000 inherits, groups in groups and target: contexts, as buildx does', () => {
    const n = 20000;
    const chain = (f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join('');
    const inherits = print(`${chain((i) => `target "t${i}" {\n  inherits = ["t${i + 1}"]\n}\n`)}target "t${n}" {\n  tags = ["end"]\n}\n`, ['t0']);
    expect(inherits.target.t0?.tags).to.deep.equal(['end']);
    const groups = print(`${chain((i) => `group "g${i}" {\n  targets = ["g${i + 1}"]\n}\n`)}group "g${n}" {\n  targets = ["t"]\n}\ntarget "t" {\n}\n`, ['g0']);
    expect(Object.keys(groups.target)).to.deep.equal(['t']);
    const links = print(`${chain((i) => `target "t${i}" {\n  contexts = { c = "target:t${i + 1}" }\n}\n`)}target "t${n}" {\n}\n`, ['t0']);
    expect(Object.keys(links.target)).to.have.length(n + 1);
  });

  it('resolves inherits and target: contexts that fan out once per target, as buildx\'s visited map', async () => {
    // Each target inherits (or uses as contexts) the next one twice: walked again at each use, 2^30 resolutions.
    const fan = (attr: (next: string) => string): string => Array.from({ length: 30 }, (_, i) => `target "t${i}" {\n  ${attr(`t${i + 1}`)}\n}\n`).join('') + 'target "t30" {\n  tags = ["end"]\n}\n';
    const inherits = await printInChild([{ name: 'docker-bake.hcl', text: fan((next) => `inherits = ["${next}", "${next}"]`) }], { targets: ['t0'] });
    expect(inherits).to.have.nested.property('definition.target.t0.tags').that.deep.equals(['end']);
    const links = await printInChild([{ name: 'docker-bake.hcl', text: fan((next) => `contexts = { a = "target:${next}", b = "target:${next}" }`) }], { targets: ['t0'] });
    expect(links).to.have.nested.property('definition.target.t30.tags').that.deep.equals(['end']);
  });

  it('reads a file of 50000 attributes, 50000 targets and 50000 groups without a search per name (44 s for the attributes)', async () => {
    const n = 50000;
    const text = Array.from({ length: n }, (_, i) => `a${i} = ${i}\ntarget "t${i}" {\n}\ngroup "g${i}" {\n  targets = ["t${i}"]\n}\n`).join('') + 'target "default" {\n  tags = ["${a49999}"]\n}\n';
    const answer = await printInChild([{ name: 'docker-bake.hcl', text }], { timeoutMs: 30_000 });
    expect(answer).to.have.nested.property('definition.target.default.tags').that.deep.equals(['49999']);
  });

  it('refuses, at the expression that asks, what would exhaust the memory or never end (buildx runs until the machine gives out)', async () => {
    const doubling = (next: (prev: string) => string, first: string): string => Array.from({ length: 40 }, (_, i) => `v${i + 1} = ${next(`v${i}`)}\n`).join('') + `v0 = ${first}\nv = v40`;
    // [what the file holds, text on the line it is refused at ('': a line of a chain), what the error says]
    const cases: [string, string, string][] = [
      ['v = [for i in range(20) : format("%40000000s", i)]', 'format(', 'format()\'s padding'],
      ['v = length(setproduct(range(1024), range(1024), range(1024)))', 'setproduct(', 'setproduct()\'s 1024 × 1024 × 1024 combinations'],
      ['v = length([for a in range(1024) : [for b in range(1024) : [for c in range(1024) : 1]]])', '[for c', 'this for expression'],
      ['x = range(1024)\nv = length([for a in x : [for b in x : [for c in x : 1 if false]]])', '1 if', 'evaluates more than 10 million expressions'],
      ['v = indent(60000000, "a\\nb\\nc")', 'indent(', 'indent()'],
      ['v = replace(format("%1000s", ""), " ", format("%100000s", ""))', 'replace(', 'replace()'],
      ['v = regex_replace(format("%1000s", ""), " ", format("%100000s", ""))', 'regex_replace(', 'regex_replace()'],
      ['x = format("%70000s", "")\nv = join(",", [for i in range(1024) : x])', 'join(', 'join()'],
      ['x = format("%100s", "")\nv = jsonencode([for i in range(1024) : [for j in range(1024) : x]])', 'jsonencode(', 'jsonencode()'],
      ['x = range(1024)\nv = flatten([for i in range(1024) : [for j in range(1024) : x]])', 'flatten(', 'flatten()'],
      ['x = [for i in range(1024) : range(1024)]\nv = convert([for i in range(1024) : x], list(list(list(number))))', 'convert(', 'the conversion'],
      ['v = regexall("((((((((((a?))))))))))", format("%20000000s", ""))', 'regexall(', 'regexall()\'s more than'],
      ['v = csvdecode(format("a\\n%s", replace(format("%10000000s", ""), " ", "\\n1")))', 'csvdecode(', 'csvdecode()'],
      [doubling((p) => `"\${${p}}\${${p}}"`, '"ab"'), '', 'this string template'],
      [doubling((p) => `concat(${p}, ${p})`, '["ab"]'), '', 'concat()'],
      ['v = try(format("%500000000s", ""), "fallback")', 'format(', 'format()\'s padding'],
    ];
    const files = cases.map(([hcl]) => [{ name: 'docker-bake.hcl', text: `${hcl}\ntarget "default" {\n  args = { V = jsonencode(v) }\n}\n` }]);
    files.push([{ name: 'docker-bake.hcl', text: 'target "default" {\n  matrix = { a = range(1024), b = range(1024), c = range(1024) }\n  name = "t-${a}-${b}-${c}"\n}\n' }]);
    cases.push(['', 'matrix = ', 'the matrix\'s 1048576 combinations']);
    const answers = await printEachInChild(files, { timeoutMs: 60_000 });
    answers.forEach((answer, i) => {
      const [hcl, at, says] = cases[i] ?? ['', '', ''];
      const text = files[i]?.[0]?.text ?? '';
      const line = at === '' ? '\\d+' : text.split('\n').findIndex((l) => l.includes(at)) + 1;
      expect(answer, hcl).to.have.nested.property('error.code', 'BAKE_DEFINITION');
      const message = 'error' in answer ? answer.error.message : '';
      expect(message, hcl).to.match(new RegExp(`^docker-bake\\.hcl:${line},\\d+`));
      expect(message, hcl).to.contain(says);
      if (!says.startsWith('evaluates')) expect(message, hcl).to.contain('the values the bake definition computes would pass 64 MiB');
    });
    // What a bake file does compute is left alone: 10000 combinations, a for over a million values.
    expect(argsOf('{ A = length(setproduct(range(100), range(100))), B = length(flatten([for i in range(1024) : range(1024)])) }')).to.deep.equal({ A: '10000', B: '1048576' });
  });

  it('answers at once where a backtracking regex took minutes: spaces before ${~, newlines in chomp, a .env value, a semvercmp constraint', async () => {
    const spaces = ' '.repeat(200000);
    const hcl = `target "hcl" {
  args = {
    TRIM = length("${spaces}x\${~ "y"}")
    CHOMP = length(chomp("${'\\n'.repeat(100000)}x"))
    SEMVER = semvercmp("1.0.0", ">= 1.0.0 ${' '.repeat(300000)}")
  }
}
`;
    const compose = 'services:\n  app:\n    build:\n      context: .\n      args:\n        A: ${SPACED}\n';
    const answer = await printInChild([{ name: 'docker-bake.hcl', text: hcl }, { name: 'compose.yaml', text: compose }], { targets: ['hcl', 'app'], dotEnv: `SPACED=a${spaces}b # comment\n` });
    expect(answer).to.have.nested.property('definition.target.hcl.args').that.deep.equals({ TRIM: '200002', CHOMP: '100001', SEMVER: 'true' });
    expect(answer).to.have.nested.property('definition.target.app.args.A', `a${spaces}b`);
  });

  it('finds repeats and compares in linear time: distinct and sets of a quarter million values, two values of 2^40 elements, 51200 cache entries, 20000 targets inheriting in a chain', async () => {
    const chain = (name: string): string => Array.from({ length: 40 }, (_, i) => `${name}${i + 1} = [${name}${i}, ${name}${i}]\n`).join('') + `${name}0 = ["x"]\n`;
    const hcl = `${chain('a')}${chain('b')}
many = flatten([for i in range(256) : [for j in range(1024) : "\${i}-\${j}"]])
target "values" {
  args = {
    DISTINCT = length(distinct(concat(many, many)))
    SET = length(setunion(many, ["x"]))
    SUBTRACT = length(setsubtract(many, many))
    EQUAL = a40 == b40
    SAME = length(distinct([a40, b40]))
  }
  cache-from = flatten([for i in range(1024) : [for j in range(50) : "type=registry,ref=r/\${i}:\${j}"]])
}
`;
    const inherits = Array.from({ length: 20000 }, (_, i) => `target "t${i}" {\n  inherits = ["t${i + 1}"]\n}\n`).join('')
      + `target "t20000" {\n  tags = ["end"]\n}\ngroup "all" {\n  targets = [${Array.from({ length: 20000 }, (_, i) => `"t${i}"`).join(', ')}]\n}\n`;
    const values = await printInChild([{ name: 'docker-bake.hcl', text: hcl }], { targets: ['values'] });
    const chained = await printInChild([{ name: 'docker-bake.hcl', text: inherits }], { targets: ['all'] });
    expect(values).to.have.nested.property('definition.target.values.args').that.deep.equals({ DISTINCT: '262144', SET: '262145', SUBTRACT: '0', EQUAL: 'true', SAME: '1' });
    expect(values).to.have.nested.property('definition.target.values.cache-from').that.has.length(51200);
    expect(chained).to.have.nested.property('definition.target.t0.tags').that.deep.equals(['end']);
  });

  it('refuses a target written in thousands of blocks, whose merging copied the target so far at each block', async () => {
    const text = Array.from({ length: 20000 }, (_, i) => `target "default" {\n  args = { A${i} = "x" }\n}\n`).join('');
    const answer = await printInChild([{ name: 'docker-bake.hcl', text }], { timeoutMs: 30_000 });
    expect(answer).to.have.nested.property('error.message').that.matches(/^docker-bake\.hcl:\d+,1-2: merging the blocks of target "default": the bake definition takes more than 10 million steps to evaluate$/);
  });

  it('counts range() as go-cty does, down when the end is below the start and 1024 numbers at most; refuses durations and unix times past int64', () => {
    expect(argsOf('{ A = jsonencode([range(-3), range(5, 1), range(1, 10, 4), range(0), length(range(1024))]) }')).to.deep.equal({ A: '[[0,-1,-2],[5,4,3,2],[1,5,9],[],1024]' });
    for (const [expr, says] of [
      ['range(1025)', 'more than 1024 values were generated'],
      ['range(0, 1, 1e-300)', 'more than 1024 values were generated'],
      ['range(0, 5, -1)', 'end must be less than start when step is negative'],
      ['range(5, 0, 1)', 'end must be greater than start when step is positive'],
      ['range(0, 5, 0)', 'step must not be zero'],
      ['timeadd("2020-01-01T00:00:00Z", "9999999999h")', 'time: invalid duration "9999999999h"'],
      ['jsonencode(unixtimestampparse(1e300))', 'unix timestamp must be an integer'],
      ['jsonencode(unixtimestampparse(9e15))', 'unix timestamp 9000000000000000 is past the year 275760'],
    ]) {
      const err = failure(() => argsOf(`{ A = ${expr} }`));
      expect(err.message, expr).to.contain(says);
    }
  });

  it('reads a string of 30 million characters into a string, not a rope of 30 million pieces (1.1 GB)', async () => {
    const text = `target "default" {\n  args = { A = length("${'x'.repeat(30_000_000)}") }\n}\n`;
    expect(await printInChild([{ name: 'docker-bake.hcl', text }], { maxHeapMb: 512 })).to.have.nested.property('definition.target.default.args.A', '30000000');
  });

  it('refuses rsadecrypt with a key OpenSSL would not take (65536 bits), or one whose numbers do not make a key, and counts each decryption against the budget', async () => {
    // A PKCS #1 key of random 65536-bit numbers: Node parses it, and one decryption with it ran for minutes.
    const der = (n: bigint): Buffer => {
      const hex = n.toString(16);
      const body = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
      const value = (body[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body;
      const len = value.length < 128 ? Buffer.from([value.length]) : Buffer.concat([Buffer.from([0x80 | 4]), Buffer.from([value.length >>> 24, (value.length >>> 16) & 255, (value.length >>> 8) & 255, value.length & 255])]);
      return Buffer.concat([Buffer.from([0x02]), len, value]);
    };
    const big = (bits: number): bigint => BigInt(`0x${'9e3779b97f4a7c15'.repeat(bits / 64)}`) | 1n;
    const keyOf = (bits: number): string => {
      const body = Buffer.concat([0n, big(bits), 65537n, big(bits - 64), big(bits / 2), big(bits / 2), 3n, 5n, 7n].map(der));
      const seq = Buffer.concat([Buffer.from([0x30, 0x80 | 4, body.length >>> 24, (body.length >>> 16) & 255, (body.length >>> 8) & 255, body.length & 255]), body]);
      return `-----BEGIN RSA PRIVATE KEY-----\n${seq.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END RSA PRIVATE KEY-----\n`;
    };
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const secret = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('s3cret')).toString('base64');
    const heredoc = (key: string): string => `<<EOT\n${key}EOT\n`;
    // The huge key last: Node's OpenSSL leaves an error behind it that the next key parsed in the process fails with.
    const files = [
      `v = [for a in range(1024) : [for b in range(4) : rsadecrypt("${secret}", ${heredoc(pem)})]]`,
      `v = rsadecrypt("${secret}", ${heredoc(pem)})`,
      `v = rsadecrypt("${Buffer.alloc(256, 1).toString('base64')}", ${heredoc(keyOf(2048))})`,
      `v = rsadecrypt("${Buffer.alloc(8192, 1).toString('base64')}", ${heredoc(keyOf(65536))})`,
    ].map((hcl) => [{ name: 'docker-bake.hcl', text: `${hcl}\ntarget "default" {\n  args = { V = jsonencode(v) }\n}\n` }]);
    const [many, one, junk, huge] = await printEachInChild(files, { timeoutMs: 60_000 });
    expect(huge).to.have.nested.property('error.message').that.contains('an RSA modulus of 65536 bits is larger than the 16384 OpenSSL decrypts with');
    expect(many).to.have.nested.property('error.message').that.contains('rsadecrypt(): the bake definition takes more than 10 million steps to evaluate');
    expect(one).to.have.nested.property('definition.target.default.args.V', '"s3cret"');
    expect(junk).to.have.nested.property('error.message').that.contains('failed to parse key: crypto/rsa: invalid modulus or exponents');
  });

  it('counts a builtin\'s pass over what it is given and the comparison of values as steps: each of these in two fors never finished', async () => {
    const cases: [string, string, string][] = [
      [`big = "${'x'.repeat(5_000_000)}"`, '[for b in range(1024) : length(big)]', 'length(): the bake definition takes more than 10 million steps'],
      ['big = flatten([for i in range(256) : range(1024)])', '[for b in range(64) : contains(big, -1)]', 'contains(): the bake definition takes more than 10 million steps'],
      ['big = flatten([for i in range(100) : [for j in range(1024) : "a${j}"]])\nother = flatten([for i in range(100) : [for j in range(1024) : "a${j}"]])', '[for b in range(64) : big == other]', 'comparing values: the bake definition takes more than 10 million steps'],
    ];
    const files = cases.map(([defs, inner]) => [{ name: 'docker-bake.hcl', text: `${defs}\ntarget "default" {\n  args = { A = length([for a in range(1024) : ${inner}]) }\n}\n` }]);
    const answers = await printEachInChild(files, { timeoutMs: 60_000 });
    answers.forEach((answer, i) => expect(answer).to.have.nested.property('error.message').that.contains(cases[i]?.[2] ?? '?'));
  });
});
