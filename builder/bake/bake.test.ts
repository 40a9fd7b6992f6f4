import { expect } from 'chai';
import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { addSourceDateEpoch, BakeFileError, listDefinitions, parseBakeFiles, printDefinition, resolveTargets, type BakeFile } from './index.js';
import { failure } from '../../test/fixtures/tsbuild-failure.js';

// Bake files → `--print` JSON. The expected documents are written by hand from buildx's docs
// (docs/reference/buildx_bake.md, docs/bake-reference.md) and the cases of its bake/bake_test.go, in the shape
// buildx's json.MarshalIndent gives: struct order for a target's keys, sorted map keys, two-space indent.

const builtins = { BAKE_CMD_CONTEXT: 'cwd://', BAKE_LOCAL_PLATFORM: 'linux/amd64' };

function print(files: BakeFile[] | string, targets: string[] = ['default'], sets: string[] = [], env: Record<string, string> = {}): unknown {
  const list = typeof files === 'string' ? [{ name: 'docker-bake.hcl', text: files }] : files;
  const config = parseBakeFiles(list, { lookupVar: (n) => env[n], builtins });
  return JSON.parse(printDefinition(resolveTargets(config, targets, sets)));
}


describe('bake --print', () => {
  // The docs show `"context": "./"`, but buildx prints what toBuildOpt writes back, path.Clean'ed (since 2021).
  it('prints the docs example of --print db with buildx\'s default dockerfile and the context cleaned', () => {
    const hcl = `
group "default" {
  targets = ["db", "webapp-dev"]
}
target "db" {
  context = "./"
  tags = ["docker.io/tiborvass/db"]
}
target "webapp-dev" {
  dockerfile = "Dockerfile.webapp"
}`;
    expect(print(hcl, ['db'])).to.deep.equal({
      group: { default: { targets: ['db'] } },
      target: { db: { context: '.', dockerfile: 'Dockerfile', tags: ['docker.io/tiborvass/db'] } },
    });
  });

  it('writes keys in buildx\'s struct order, map keys sorted, two-space indented, one trailing newline', () => {
    const config = parseBakeFiles([{ name: 'f.hcl', text: 'target "default" {\n  tags = ["a"]\n  args = { Z = "1", A = "2" }\n  dockerfile = "D"\n}\n' }], { lookupVar: () => undefined, builtins });
    expect(printDefinition(resolveTargets(config, ['default'], []))).to.equal(
      '{\n  "group": {\n    "default": {\n      "targets": [\n        "default"\n      ]\n    }\n  },\n  "target": {\n    "default": {\n'
      + '      "context": ".",\n      "dockerfile": "D",\n      "args": {\n        "A": "2",\n        "Z": "1"\n      },\n      "tags": [\n        "a"\n      ]\n    }\n  }\n}\n');
  });

  it('merges inherited targets as bake_test.go TestReadTargets: args key by key, the rest replaced', () => {
    const hcl = `
target "webDEP" {
  args = {
    VAR_INHERITED = "webDEP"
    VAR_BOTH = "webDEP"
  }
  no-cache = true
  shm-size = "128m"
  ulimits = ["nofile=1024:1024"]
  extra-hosts = {
    my_hostname = "8.8.8.8"
  }
}
target "webapp" {
  dockerfile = "Dockerfile.webapp"
  args = {
    VAR_BOTH = "webapp"
  }
  annotations = [
    "index,manifest:org.opencontainers.image.authors=dvdksn"
  ]
  attest = [
    "type=provenance,mode=max"
  ]
  platforms = [
    "linux/amd64"
  ]
  secret = [
    "id=FOO,env=FOO"
  ]
  inherits = ["webDEP"]
}`;
    expect(print(hcl, ['webapp'])).to.deep.equal({
      group: { default: { targets: ['webapp'] } },
      target: {
        webapp: {
          annotations: ['index,manifest:org.opencontainers.image.authors=dvdksn'],
          attest: [{ mode: 'max', type: 'provenance' }],
          context: '.', dockerfile: 'Dockerfile.webapp',
          args: { VAR_BOTH: 'webapp', VAR_INHERITED: 'webDEP' },
          secret: [{ id: 'FOO', env: 'FOO' }],
          platforms: ['linux/amd64'],
          'no-cache': true, 'shm-size': '128m', ulimits: ['nofile=1024:1024'],
          'extra-hosts': { my_hostname: '8.8.8.8' },
        },
      },
    });
  });

  it('applies --set args as buildx: unset from the environment stays unset, empty is set, parents can be overridden', () => {
    const hcl = 'target "base" {\n  args = { VAR_INHERITED = "base" }\n}\ntarget "app" {\n  inherits = ["base"]\n}\n';
    process.env.TSBUILD_BAKE_TEST_FROMENV = 'fromEnv';
    try {
      const out = print(hcl, ['app'], ['app.args.VAR_UNSET', 'app.args.VAR_EMPTY=', 'app.args.VAR_SET=bananas', 'app.args.TSBUILD_BAKE_TEST_FROMENV', 'base.args.VAR_INHERITED=override']) as { target: { app: { args: Record<string, string> } } };
      expect(out.target.app.args).to.deep.equal({ TSBUILD_BAKE_TEST_FROMENV: 'fromEnv', VAR_EMPTY: '', VAR_INHERITED: 'override', VAR_SET: 'bananas' });
    } finally {
      delete process.env.TSBUILD_BAKE_TEST_FROMENV;
    }
  });

  it('refuses an override for a target no file defines, as buildx words it', () => {
    const f = failure(() => print('target "webapp" {\n}\n', ['webapp'], ['nosuchtarget.context=foo']));
    expect(f.code).to.equal('BAKE_DEFINITION');
    expect(f.message).to.equal("could not find any target matching 'nosuchtarget'");
  });

  describe('--push and --load (bake_test.go TestPushOverride, TestLoadOverride)', () => {
    const outputs = (outputLine: string, set: string): unknown => (print(`target "app" {\n${outputLine}\n}\n`, ['app'], [set]) as { target: { app: { output?: unknown } } }).target.app.output;
    const cases: [string, string, unknown][] = [
      ['', '*.push=true', [{ push: 'true', type: 'image' }]],
      ['output = ["type=image,compression=zstd"]', '*.push=true', [{ compression: 'zstd', push: 'true', type: 'image' }]],
      ['output = ["type=image,compression=zstd"]', '*.push=false', [{ compression: 'zstd', push: 'false', type: 'image' }]],
      ['output = ["type=registry"]', '*.push=true', [{ type: 'registry' }]],
      ['output = ["type=registry"]', '*.push=false', undefined],
      ['output = ["type=local,dest=out"]', '*.push=true', [{ dest: 'out', type: 'local' }]],
      ['output = ["type=docker"]', '*.push=true', [{ type: 'docker' }, { push: 'true', type: 'image' }]],
      ['', '*.load=true', [{ type: 'docker' }]],
      ['output = ["type=tar,dest=hi.tar"]', '*.load=true', [{ dest: 'hi.tar', type: 'tar' }]],
      ['output = ["type=image"]', '*.load=true', [{ type: 'image' }, { type: 'docker' }]],
      ['output = ["type=docker"]', '*.load=true', [{ type: 'docker' }]],
    ];
    for (const [line, set, want] of cases) it(`${line || 'no output'} with ${set}`, () => expect(outputs(line, set)).to.deep.equal(want));
  });

  it('merges contexts and drops one reset to "" (TestReadContexts)', () => {
    const hcl = 'target "base" {\n  contexts = {\n    foo: "bar"\n    abc: "def"\n  }\n}\ntarget "app" {\n  inherits = ["base"]\n  contexts = {\n    foo: "baz"\n  }\n}\n';
    const ctx = (sets: string[]): unknown => (print(hcl, ['app'], sets) as { target: { app: { contexts?: unknown } } }).target.app.contexts;
    expect(ctx([])).to.deep.equal({ abc: 'def', foo: 'baz' });
    expect(ctx(['app.contexts.foo=bay', 'base.contexts.ghi=jkl'])).to.deep.equal({ abc: 'def', foo: 'bay', ghi: 'jkl' });
    expect(ctx(['app.contexts.foo='])).to.deep.equal({ abc: 'def' });
  });

  it('resolves a target: context\'s target with only a cacheonly output, and refuses a loop', () => {
    const hcl = 'target "base" {\n  tags = ["base"]\n}\ntarget "app" {\n  contexts = { b = "target:base" }\n}\n';
    expect((print(hcl, ['app']) as { target: unknown }).target).to.deep.equal({
      app: { context: '.', contexts: { b: 'target:base' }, dockerfile: 'Dockerfile' },
      base: { context: '.', dockerfile: 'Dockerfile', tags: ['base'], output: [{ type: 'cacheonly' }] },
    });
    const loop = 'target "a" {\n  contexts = { x = "target:b" }\n}\ntarget "b" {\n  contexts = { y = "target:a" }\n}\n';
    expect(failure(() => print(loop, ['a'])).message).to.match(/infinite loop from (a to b|b to a)/);
  });

  it('skips empty strings in output, attest, secret and ssh lists (buildx eachElement, TestVariableEmpty)', () => {
    const out = print('variable "PUSH" { default = false }\ntarget "default" {\n  output = [PUSH ? "type=registry" : "", "type=oci,dest=img.tar"]\n  attest = [""]\n  secret = [""]\n  ssh = ["", "default"]\n}\n') as { target: { default: Record<string, unknown> } };
    expect(out.target.default['output']).to.deep.equal([{ dest: 'img.tar', type: 'oci' }]);
    expect(out.target.default['attest']).to.equal(undefined);
    expect(out.target.default['secret']).to.equal(undefined);
    expect(out.target.default['ssh']).to.deep.equal([{ id: 'default' }]);
  });

  it('reads a target named on the command line with a dot as its sanitized name, as buildx does (compose service web.app)', () => {
    const out = print('target "web_app" {\n}\n', ['web.app']) as { target: Record<string, unknown> };
    expect(Object.keys(out.target)).to.deep.equal(['web_app']);
  });

  it('expands nested groups and sorts the default group', () => {
    const hcl = 'group "default" {\n  targets = ["z", "inner"]\n}\ngroup "inner" {\n  targets = ["b", "a"]\n}\ntarget "a" {}\ntarget "b" {}\ntarget "z" {}\n';
    const out = print(hcl) as { group: unknown; target: Record<string, unknown> };
    expect(out.group).to.deep.equal({ default: { targets: ['inner', 'z'] }, inner: { targets: ['b', 'a'] } });
    expect(Object.keys(out.target)).to.deep.equal(['a', 'b', 'z']);
  });

  it('takes a group\'s own name as a target when the group lists it (as --print writes a group "default" of a target "default") or lists nothing', () => {
    // buildx's Config.group: a group still being expanded, or one with no targets, gives its caller no targets, and
    // the caller takes the name itself as a target.
    const same = print('group "default" {\n  targets = ["default"]\n}\ntarget "default" {\n  tags = ["t"]\n}\n') as { group: unknown; target: Record<string, unknown> };
    expect(same.group).to.deep.equal({ default: { targets: ['default'] } });
    expect(same.target).to.deep.equal({ default: { context: '.', dockerfile: 'Dockerfile', tags: ['t'] } });
    const cycle = print('group "a" {\n  targets = ["b", "x"]\n}\ngroup "b" {\n  targets = ["a"]\n}\ntarget "a" {}\ntarget "x" {}\n', ['a']) as { target: Record<string, unknown> };
    expect(Object.keys(cycle.target)).to.deep.equal(['a', 'x']);
    const empty = print('group "default" {\n  targets = ["e", "x"]\n}\ngroup "e" {\n  targets = []\n}\ntarget "e" {}\ntarget "x" {}\n') as { target: Record<string, unknown> };
    expect(Object.keys(empty.target)).to.deep.equal(['e', 'x']);
  });

  it('matches target names and --set patterns as Go\'s path.Match (TestMatchNames)', () => {
    const hcl = 'target "app-a" {}\ntarget "app-b" {}\ntarget "db" {}\n';
    const out = print(hcl, ['app-*'], ['app-[ab].tags=x', '*.args.A=1']) as { group: { default: { targets: string[] } }; target: Record<string, { tags?: string[]; args?: unknown }> };
    expect(out.group.default.targets).to.deep.equal(['app-a', 'app-b']);
    expect(out.target['app-b']).to.deep.include({ tags: ['x'], args: { A: '1' } });
    expect(failure(() => print(hcl, ['nope-*'])).message).to.equal('could not find any target matching "nope-*"');
  });

  it('prints a local context path.Clean\'ed and without cwd://, as buildx\'s toBuildOpt writes it back before --print', () => {
    const hcl = 'target "a" {\n  context = "./"\n}\ntarget "b" {\n  context = "cwd://src/../app/"\n}\ntarget "c" {\n  context = BAKE_CMD_CONTEXT\n}\n'
      + 'target "d" {\n  context = "https://github.com/o/r.git#main:sub/"\n}\ntarget "e" {\n  context = "./app/"\n  dockerfile = "./build/Dockerfile"\n}\n';
    const out = print(hcl, ['a', 'b', 'c', 'd', 'e']) as { target: Record<string, { context: string; dockerfile: string }> };
    expect(Object.fromEntries(Object.entries(out.target).map(([k, t]) => [k, t.context]))).to.deep.equal({ a: '.', b: 'app', c: '.', d: 'https://github.com/o/r.git#main:sub/', e: 'app' });
    expect(out.target.e?.dockerfile).to.equal('./build/Dockerfile');
  });

  it('removes repeated outputs and cache entries as buildx\'s removeDupes, which moves the last entry into a repeat\'s place', () => {
    const hcl = 'target "base" {\n  cache-from = ["type=gha"]\n}\ntarget "app" {\n  inherits = ["base"]\n  cache-from = ["type=gha", "r/app:cache", "type=local,src=c"]\n'
      + '  output = ["type=local,dest=a", "type=local,dest=a", "type=tar,dest=b", "type=oci,dest=c"]\n}\n';
    const out = print(hcl, ['app']) as { target: { app: Record<string, unknown> } };
    expect(out.target.app['cache-from']).to.deep.equal([{ type: 'gha' }, { src: 'c', type: 'local' }, { ref: 'r/app:cache', type: 'registry' }]);
    expect(out.target.app['output']).to.deep.equal([{ dest: 'a', type: 'local' }, { dest: 'c', type: 'oci' }, { dest: 'b', type: 'tar' }]);
  });

  it('keeps one ssh entry per id, the later in the first\'s place, and reads the object form\'s paths as a list', () => {
    const out = print('target "default" {\n  ssh = ["default", "key=a,b", "default=/x", { id = "obj", paths = ["p1", "p2"] }]\n}\n') as { target: { default: Record<string, unknown> } };
    expect(out.target.default['ssh']).to.deep.equal([{ id: 'default', paths: ['/x'] }, { id: 'key', paths: ['a', 'b'] }, { id: 'obj', paths: ['p1', 'p2'] }]);
  });

  it('adds SOURCE_DATE_EPOCH to the args of a target that does not set it, and keeps one the file sets to ""', () => {
    const config = parseBakeFiles([{ name: 'f.hcl', text: 'target "a" {}\ntarget "b" {\n  args = { SOURCE_DATE_EPOCH = "" }\n}\n' }], { lookupVar: () => undefined, builtins });
    const r = resolveTargets(config, ['a', 'b'], []);
    addSourceDateEpoch(r, '1700000000');
    expect(r.targets.a?.args).to.deep.equal({ SOURCE_DATE_EPOCH: '1700000000' });
    expect(r.targets.b?.args).to.deep.equal({ SOURCE_DATE_EPOCH: '' });
  });

  it('escapes ${ as $${ in args, labels and annotations, and <, >, & as Go does', () => {
    const out = printDefinition(resolveTargets(parseBakeFiles([{ name: 'f.hcl', text: 'target "default" {\n  args = { A = "$${X}" }\n  labels = { L = "a<b&c>" }\n}\n' }], { lookupVar: () => undefined, builtins }), ['default'], []));
    expect(out).to.include('"A": "$${X}"').and.include('"L": "a\\u003cb\\u0026c\\u003e"');
  });
});

describe('bake variables', () => {
  const hcl = `
variable "TAG" {
  default = "latest"
}
variable "PUSH" {
  default = false
}
variable "N" {
  default = 2
}
variable "REPO" {
  default = "user/\${NAME}"
}
NAME = "app"
target "default" {
  tags = ["\${REPO}:\${TAG}", notequal(TAG, "latest") ? "\${REPO}:latest" : ""]
  args = {
    PUSH = PUSH ? "yes" : "no"
    NEXT = N + 1
  }
}`;
  const args = (env: Record<string, string>): unknown => (print(hcl, ['default'], [], env) as { target: { default: unknown } }).target.default;

  it('uses the defaults, variables referring to variables and top-level attributes', () => {
    expect(args({})).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', args: { NEXT: '3', PUSH: 'no' }, tags: ['user/app:latest'] });
  });

  it('takes an environment override typed by the default (bool, number, string)', () => {
    expect(args({ TAG: 'v1', PUSH: 'true', N: '41' })).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', args: { NEXT: '42', PUSH: 'yes' }, tags: ['user/app:v1', 'user/app:latest'] });
  });

  it('refuses an override that is not of the default\'s type, at the variable\'s line', () => {
    const f = failure(() => args({ PUSH: 'maybe' }));
    expect(f.message).to.equal('docker-bake.hcl:5,17-17: Invalid value; failed to parse PUSH as bool: strconv.ParseBool: parsing "maybe": invalid syntax');
  });

  it('does not let the environment override a top-level attribute', () => {
    expect((args({ NAME: 'other' }) as { tags: string[] }).tags).to.deep.equal(['user/app:latest']);
  });

  it('runs validation blocks', () => {
    const v = 'variable "PORT" {\n  default = 80\n  validation {\n    condition = PORT > 0\n    error_message = "PORT must be positive"\n  }\n}\ntarget "default" {}\n';
    expect(print(v)).to.have.property('target');
    expect(failure(() => print(v, ['default'], [], { PORT: '-1' })).message).to.equal('docker-bake.hcl:4,17-25: Validation failed; PORT must be positive');
  });
});

describe('bake typed variables (buildx hclparser resolveValue)', () => {
  const typed = `
variable "LABELS" {
  type = map(string)
  default = { team = "core", tier = 1 }
}
variable "TAGS" {
  type = list(string)
  default = ["a", "b"]
}
variable "PORTS" {
  type = set(number)
  default = [443, 80, 443]
}
variable "IMAGE" {
  type = object({ name = string, version = string })
  default = { name = "app", version = "1.0", extra = "dropped" }
}
variable "PUSH" {
  type = bool
  default = "true"
}
variable "N" {
  type = number
  default = "2"
}
variable "PAIR" {
  type = tuple([number, string])
  default = [1, "one"]
}
target "default" {
  tags = [for t in TAGS : "\${IMAGE.name}:\${t}"]
  labels = LABELS
  args = {
    PORTS = join(",", PORTS)
    PUSH = PUSH ? "yes" : "no"
    N = N + 1
    PAIR = "\${PAIR[0]}-\${PAIR[1]}"
    IMAGE = jsonencode(IMAGE)
  }
}`;
  const target = (env: Record<string, string> = {}): Record<string, unknown> => (print(typed, ['default'], [], env) as { target: { default: Record<string, unknown> } }).target.default;

  it('converts each default to its type: a set sorted without repeats, an object\'s extra attribute dropped, "2" a number', () => {
    expect(target()).to.deep.equal({
      context: '.', dockerfile: 'Dockerfile',
      args: { IMAGE: '{"name":"app","version":"1.0"}', N: '3', PAIR: '1-one', PORTS: '80,443', PUSH: 'yes' },
      labels: { team: 'core', tier: '1' }, tags: ['app:a', 'app:b'],
    });
  });

  it('reads a list, set, map and tuple from CSV and a primitive by its type, as valueFromCSV and convertPrimitive', () => {
    const t = target({ TAGS: 'x,"y,z"', PORTS: '3,1,3', LABELS: 'a:1,"""b:c"":2"', PUSH: '0', N: '1e1', PAIR: '2,two' });
    expect(t.tags).to.deep.equal(['app:x', 'app:y,z']);
    expect(t.labels).to.deep.equal({ a: '1', 'b:c': '2' });
    expect(t.args).to.deep.include({ PORTS: '1,3', PUSH: 'no', N: '11', PAIR: '2-two' });
  });

  it('reads NAME_JSON as JSON of the type, in preference to NAME for a typed variable; an object only so', () => {
    const t = target({ IMAGE_JSON: '{"name":"web","version":"2"}', TAGS: 'ignored', TAGS_JSON: '["j1","j2"]', LABELS_JSON: '{"k":"v"}' });
    expect(t.tags).to.deep.equal(['web:j1', 'web:j2']);
    expect(t.labels).to.deep.equal({ k: 'v' });
    expect(failure(() => target({ IMAGE: 'web' })).message).to.equal('docker-bake.hcl:14,18-18: Invalid value; unsupported type object for variable IMAGE');
  });

  it('takes NAME_JSON as the text of an untyped variable only when NAME is unset', () => {
    const hcl = 'variable "V" {\n  default = "d"\n}\ntarget "default" {\n  tags = [V]\n}\n';
    const tags = (env: Record<string, string>): unknown => (print(hcl, ['default'], [], env) as { target: { default: { tags: unknown } } }).target.default.tags;
    expect(tags({ V_JSON: '["x"]' })).to.deep.equal(['["x"]']);
    expect(tags({ V: 'plain', V_JSON: '["x"]' })).to.deep.equal(['plain']);
  });

  const errors: [string, Record<string, string>, string][] = [
    ['a number that is NaN', { N: 'NaN' }, 'docker-bake.hcl:22,14-14: Invalid value; failed to parse N as number: invalid number value'],
    ['a word for a bool', { PUSH: 'maybe' }, 'docker-bake.hcl:18,17-17: Invalid value; failed to parse PUSH as bool: strconv.ParseBool: parsing "maybe": invalid syntax'],
    ['a CSV list element of the wrong type', { PORTS: '1,x' }, 'docker-bake.hcl:10,18-18: Invalid value; failed to convert variable PORTS from CSV: failed to parse element of type set of number: failed to parse PORTS as number: strconv.ParseFloat: parsing "x": invalid syntax'],
    ['an empty CSV list', { TAGS: '' }, 'docker-bake.hcl:6,17-17: Invalid value; failed to convert variable TAGS from CSV: failed to parse  as CSV: EOF'],
    ['a CSV tuple of the wrong length', { PAIR: '1' }, 'docker-bake.hcl:26,17-17: Invalid value; failed to convert variable PAIR from CSV: tuple expects 2 elements but only 1 provided'],
    ['a map entry without a key', { LABELS: 'a' }, 'docker-bake.hcl:2,19-19: Invalid value; failed to convert variable LABELS from CSV: expected one k/v pair but got 1 pieces from a'],
    ['JSON of another type', { IMAGE_JSON: '{"name":"web"}' }, 'docker-bake.hcl:14,18-18: Invalid value; failed to convert variable IMAGE from JSON: attribute "version" is required'],
  ];
  for (const [what, env, want] of errors) it(`refuses ${what}`, () => expect(failure(() => target(env)).message).to.equal(want));

  it('refuses a default that does not convert to the type, and a type hcl does not know', () => {
    expect(failure(() => print('variable "L" {\n  type = list(number)\n  default = ["oops"]\n}\ntarget "default" {}\n')).message)
      .to.equal('docker-bake.hcl:1,14-14: Invalid value; invalid type list of number for variable L default value: a number is required');
    expect(failure(() => print('variable "B" {\n  type = boolean\n}\ntarget "default" {}\n')).message)
      .to.equal('docker-bake.hcl:2,10-17: Invalid type specification; The keyword "boolean" is not a valid type specification.');
    expect(failure(() => print('variable "A" {\n  type = any\n  default = 1\n}\ntarget "default" {}\n', ['default'], [], { A: '2' })).message)
      .to.equal('docker-bake.hcl:1,14-14: Invalid value; unsupported type dynamic for variable A');
  });

  it('gives a typed variable without a default null, an untyped one ""', () => {
    const hcl = 'variable "T" {\n  type = string\n}\nvariable "U" {}\ntarget "default" {\n  args = { T = T == null ? "null" : T, U = U }\n}\n';
    expect((print(hcl) as { target: { default: { args: unknown } } }).target.default.args).to.deep.equal({ T: 'null', U: '' });
  });

  it('lists the types by cty\'s names and the values as cty\'s JSON with --list variables', () => {
    const config = parseBakeFiles([{ name: 'docker-bake.hcl', text: typed }], { lookupVar: () => undefined, builtins });
    expect(JSON.parse(listDefinitions(config, 'type=variables,format=json'))).to.deep.equal([
      { name: 'IMAGE', type: 'object', value: '{"name":"app","version":"1.0"}' },
      { name: 'LABELS', type: 'map of string', value: '{"team":"core","tier":"1"}' },
      { name: 'N', type: 'number', value: '2' },
      { name: 'PAIR', type: 'tuple', value: '[1,"one"]' },
      { name: 'PORTS', type: 'set of number', value: '[80,443]' },
      { name: 'PUSH', type: 'bool', value: 'true' },
      { name: 'TAGS', type: 'list of string', value: '["a","b"]' },
    ]);
  });

  it('reads no variable and no --set args value from the environment with BUILDX_BAKE_DISABLE_VARS_ENV_LOOKUP (resolveTargets envLookup=false)', () => {
    process.env.TSBUILD_BAKE_TEST_ARG = 'fromEnv';
    try {
      const config = parseBakeFiles([{ name: 'f.hcl', text: 'target "a" {}\n' }], { lookupVar: () => undefined, builtins });
      expect(resolveTargets(config, ['a'], ['a.args.TSBUILD_BAKE_TEST_ARG'], false).targets.a?.args).to.deep.equal({ TSBUILD_BAKE_TEST_ARG: '' });
      expect(resolveTargets(config, ['a'], ['a.args.TSBUILD_BAKE_TEST_ARG']).targets.a?.args).to.deep.equal({ TSBUILD_BAKE_TEST_ARG: 'fromEnv' });
    } finally {
      delete process.env.TSBUILD_BAKE_TEST_ARG;
    }
  });
});

describe('bake expressions and functions', () => {
  const value = (expr: string, env: Record<string, string> = {}): unknown => {
    const out = print(`variable "V" {\n  default = "x"\n}\nfunction "twice" {\n  params = [s]\n  result = "\${s}\${s}"\n}\ntarget "default" {\n  tags = [jsonencode(${expr})]\n}\n`, ['default'], [], env) as { target: { default: { tags: string[] } } };
    // tags, not args: --print re-escapes "\${" in args (a literal must read back as one).
    return JSON.parse(out.target.default.tags[0] ?? '');
  };
  const cases: [string, unknown][] = [
    ['join("-", ["a", "b"])', 'a-b'],
    ['split(",", "a,b,c")', ['a', 'b', 'c']],
    ['lower("AbC")', 'abc'],
    ['upper(V)', 'X'],
    ['trimprefix("v1.2.3", "v")', '1.2.3'],
    ['trimsuffix("a.tar", ".tar")', 'a'],
    ['trimspace("  a ")', 'a'],
    ['equal(V, "x")', true],
    ['notequal(V, "x")', false],
    ['and(true, false)', false],
    ['or(true, false)', true],
    ['replace("a-b-c", "-", "_")', 'a_b_c'],
    ['regex_replace("v1.2.3", "^v", "")', '1.2.3'],
    ['substr("hello", 1, 3)', 'ell'],
    ['length([1, 2, 3])', 3],
    ['concat(["a"], ["b", "c"])', ['a', 'b', 'c']],
    ['contains(["a", "b"], "b")', true],
    ['distinct(["a", "b", "a"])', ['a', 'b']],
    ['compact(["a", "", "b"])', ['a', 'b']],
    ['coalesce("", "b")', 'b'],
    ['merge({a = 1}, {b = 2})', { a: 1, b: 2 }],
    ['keys({b = 1, a = 2})', ['a', 'b']],
    ['lookup({a = "x"}, "b", "dflt")', 'dflt'],
    ['format("%s-%03d", "v", 7)', 'v-007'],
    ['formatlist("%s:1", ["a", "b"])', ['a:1', 'b:1']],
    ['sanitize("feature/x.y")', 'feature_x_y'],
    ['basename("/a/b.txt")', 'b.txt'],
    ['md5("a")', '0cc175b9c0f1b6a831c399e269772661'],
    ['sha256("")', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['[for s in ["a", "b"] : upper(s) if s != "b"]', ['A']],
    ['{for k, v in {a = 1} : "${k}x" => v}', { ax: 1 }],
    ['"%{ if V == "x" }yes%{ else }no%{ endif }"', 'yes'],
    ['"%{ for s in ["a", "b"] }${s};%{ endfor }"', 'a;b;'],
    ['try(undefined_thing, "fallback")', 'fallback'],
    ['can(undefined_thing)', false],
    ['twice("ab")', 'abab'],
    ['!false && 2 > 1 || false', true],
    ['10 % 4 * 2 - 1', 3],
    ['[1, 2][1]', 2],
    ['{a = {b = "c"}}.a.b', 'c'],
    ['[{n = 1}, {n = 2}][*].n', [1, 2]],
    ['"$${literal}"', '${literal}'],
    // go-cty's FormatDate, as buildx's stdlib has it: the common tag pattern, words, 12-hour clock, offsets, literals.
    ['formatdate("YYYYMMDD-hhmmss", "2026-12-02T05:07:09Z")', '20261202-050709'],
    ['formatdate("EEE, DD MMM YYYY H:mm AA ZZZ", "2026-12-02T17:07:09Z")', 'Wed, 02 Dec 2026 5:07 PM UTC'],
    ['formatdate("YY-M-D h:m:s Z ZZZZ ZZZZZ", "2026-01-02T03:04:05-08:00")', '26-1-2 3:4:5 -08:00 -0800 -08:00'],
    ['formatdate("\'week\' EEEE \'\'", "2026-12-06T00:00:00Z")', "week Sunday '"],
    ['index(["a", "b", "c"], "b")', 1],
    ['regexall("[a-z]+", "ab12cd")', ['ab', 'cd']],
    ['regexall("([0-9])([0-9])", "12 34")', [['1', '2'], ['3', '4']]],
    // Go's flag group at the start of a pattern (RE2), which JavaScript takes as flags.
    ['regex("(?i)a+", "xAab")', 'Aa'],
    // The rest of buildx's stdlib (bake/hclparser/stdlib.go); expected values from go-cty's and go-cty-funcs'
    // functions (their tests and Terraform's documentation of the same functions).
    ['setunion(["b", "a"], ["c", "a"])', ['a', 'b', 'c']],
    ['setunion([1, 10, 2], [3])', [1, 2, 3, 10]],
    ['setunion(["a"], [1])', ['1', 'a']],
    ['setintersection(["a", "b"], ["b", "c"])', ['b']],
    ['setsubtract(["a", "b", "c"], ["b"])', ['a', 'c']],
    ['setsymmetricdifference(["a", "b"], ["b", "c"])', ['a', 'c']],
    ['sethaselement(["a", "b"], "b")', true],
    ['sethaselement(["1"], 1)', false],
    ['setproduct(["a", "b"], ["1", "2"])', [['a', '1'], ['a', '2'], ['b', '1'], ['b', '2']]],
    ['chunklist(["a", "b", "c"], 2)', [['a', 'b'], ['c']]],
    ['chunklist(["a", "b"], 0)', [['a', 'b']]],
    ['hasindex(["a"], 0)', true],
    ['hasindex({a = 1}, "b")', false],
    ['csvdecode("a,b\\n1,\\"x,y\\"\\n3,4\\n")', [{ a: '1', b: 'x,y' }, { a: '3', b: '4' }]],
    ['cidrhost("10.12.112.0/20", 16)', '10.12.112.16'],
    ['cidrhost("10.12.112.0/20", -2)', '10.12.127.254'],
    ['cidrhost("fd00:fd12:3456:7890::/56", 16)', 'fd00:fd12:3456:7800::10'],
    ['cidrnetmask("172.16.0.0/12")', '255.240.0.0'],
    ['cidrsubnet("172.16.0.0/12", 4, 2)', '172.18.0.0/16'],
    ['cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)', 'fd00:fd12:3456:7800:a200::/72'],
    ['cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)', ['10.1.0.0/20', '10.1.16.0/20', '10.1.32.0/24', '10.1.48.0/20']],
    ['timeadd("2017-11-22T00:00:00Z", "10m")', '2017-11-22T00:10:00Z'],
    ['timeadd("2024-01-01T00:00:00+02:00", "-1h30m")', '2023-12-31T22:30:00+02:00'],
    ['formattimestamp("X", "2024-01-01T00:00:00Z")', '1704067200'],
    ['formattimestamp("YYYY-MM-DD hh:mm", 1704067200)', '2024-01-01 00:00'],
    ['unixtimestampparse(1609632000)', { day: 3, hour: 0, iso_week: 53, iso_year: 2020, minute: 0, month: 1, month_name: 'January', rfc3339: '2021-01-03T00:00:00Z', second: 0, weekday: 0, weekday_name: 'Sunday', year: 2021, year_day: 3 }],
    ['uuidv5("dns", "python.org")', '886313e1-3b8a-5372-9b90-0c9aee199e5d'],
    ['uuidv5("6ba7b811-9dad-11d1-80b4-00c04fd430c8", "https://x")', '48d34be5-10a3-5c30-96ef-9cf9a60110f2'],
    ['semvercmp("1.2.3", ">= 1.2.0, < 2.0.0")', true],
    ['semvercmp("2.0.0-beta", ">=1.0")', false],
    ['semvercmp("2.0.0-beta", ">=1.0-0")', true],
    ['semvercmp("1.3.9", "~1.3")', true],
    ['semvercmp("1.4.0", "~1.3")', false],
    ['semvercmp("0.2.9", "^0.2.3")', true],
    ['semvercmp("0.3.0", "^0.2.3")', false],
    ['semvercmp("v1.4.5", "1.2 - 1.4.5")', true],
    ['semvercmp("1.5.0", "<1.2 || >=1.5")', true],
    ['convert(["b", "a", "b"], set(string))', ['a', 'b']],
    ['convert("1", number)', 1],
    ['convert({a = 1}, map(string))', { a: '1' }],
  ];
  for (const [expr, want] of cases) it(`evaluates ${expr}`, () => expect(value(expr)).to.deep.equal(want));

  it('turns what a function\'s arguments break (an invalid pattern, a negative count) and a self-calling function into bake-file errors', () => {
    for (const [expr, text] of [['regex("[", "a")', 'Call to function "regex" failed: Invalid regular expression'], ['indent(-1, "a\\nb")', 'Call to function "indent" failed: '], ['loop(1)', 'function loop calls functions more than 64 deep']]) {
      const err = failure(() => print(`function "loop" {\n  params = [n]\n  result = loop(n)\n}\ntarget "default" {\n  tags = [${expr ?? ''}]\n}\n`));
      expect(err.code, expr).to.equal('BAKE_DEFINITION');
      expect(err.message, expr).to.contain(text);
    }
  });

  it('decrypts with rsadecrypt what PKCS #1 v1.5 encrypted with the key\'s public half, as Go\'s rsa.DecryptPKCS1v15', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const cipher = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('s3cret')).toString('base64');
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const out = print(`variable "C" {}\nvariable "K" {}\ntarget "default" {\n  tags = [rsadecrypt(C, K)]\n}\n`, ['default'], [], { C: cipher, K: pem }) as { target: { default: { tags: string[] } } };
    expect(out.target.default.tags).to.deep.equal(['s3cret']);
  });

  it('refuses what the go-cty functions refuse: bytes functions on a string, a bad CIDR, a duration without a unit', () => {
    for (const [expr, text] of [['byteslen("x")', 'bytes required, but have string'], ['cidrhost("10.0.0.0/33", 1)', 'invalid CIDR expression'],
      ['timeadd("2017-11-22T00:00:00Z", "10")', 'time: missing unit in duration "10"'], ['cidrsubnet("10.0.0.0/30", 4, 0)', 'insufficient address space to extend prefix of 30 by 4']]) {
      const err = failure(() => print(`target "default" {\n  tags = [${expr ?? ''}]\n}\n`));
      expect(err.message, expr).to.contain(text);
    }
  });

  it('gives timestamp() in RFC 3339 UTC without fractions, as Go\'s time.RFC3339', () => {
    expect(value('timestamp()')).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('reads a heredoc, stripping the common indent with <<-', () => {
    expect(value('<<-EOT\n      a\n        b\n      EOT\n')).to.equal('a\n  b\n');
  });
});

describe('bake target references', () => {
  it('reads another target block\'s attributes as target.NAME.ATTR, null where the block sets none', () => {
    const hcl = 'target "base" {\n  tags = ["a", "b"]\n  dockerfile = "x"\n}\ntarget "default" {\n  tags = [for t in target.base.tags : "${t}-2"]\n  args = { D = target.base.dockerfile, C = coalesce(target.base.context, "none") }\n}\n';
    expect((print(hcl) as { target: { default: unknown } }).target.default).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', args: { C: 'none', D: 'x' }, tags: ['a-2', 'b-2'] });
  });

  it('refuses a target that reads itself', () => {
    expect(failure(() => print('target "default" {\n  tags = target.default.tags\n}\n')).message).to.match(/^docker-bake\.hcl:2,10-11: target "default" refers to itself/);
  });
});

describe('bake matrix and JSON files', () => {
  it('expands a matrix into targets named by name and a group under the block name', () => {
    const hcl = 'target "app" {\n  name = "app-${tgt}-${replace(v, ".", "-")}"\n  matrix = {\n    tgt = ["a", "b"]\n    v = ["1.0", "2.0"]\n  }\n  target = tgt\n  args = { V = v }\n}\n';
    const out = print(hcl, ['app']) as { group: Record<string, { targets: string[] }>; target: Record<string, { target: string; args: { V: string } }> };
    expect(out.group.app?.targets).to.deep.equal(['app-a-1-0', 'app-b-1-0', 'app-a-2-0', 'app-b-2-0']);
    expect(out.target['app-b-2-0']).to.deep.include({ target: 'b', args: { V: '2.0' } });
    expect(out.group.default?.targets).to.deep.equal(['app']);
  });

  it('reads a JSON bake file with variables and templates like the HCL one', () => {
    const json = '{\n  "variable": { "TAG": { "default": "1" } },\n  "group": { "default": { "targets": ["app"] } },\n  "target": {\n    "app": { "tags": ["r/app:${TAG}"], "platforms": ["linux/amd64", "linux/arm64"], "cache-to": ["type=inline"] }\n  }\n}\n';
    expect(print([{ name: 'docker-bake.json', text: json }], ['default'], [], { TAG: '2' })).to.deep.equal({
      group: { default: { targets: ['app'] } },
      target: { app: { context: '.', dockerfile: 'Dockerfile', tags: ['r/app:2'], 'cache-to': [{ type: 'inline' }], platforms: ['linux/amd64', 'linux/arm64'] } },
    });
  });

  it('lets a later file override an earlier one (docker-bake.override.hcl)', () => {
    const out = print([
      { name: 'docker-bake.hcl', text: 'variable "TAG" {\n  default = "a"\n}\ntarget "default" {\n  tags = ["x:${TAG}"]\n  args = { A = "1" }\n}\n' },
      { name: 'docker-bake.override.hcl', text: 'variable "TAG" {\n  default = "b"\n}\ntarget "default" {\n  args = { B = "2" }\n}\n' },
    ]) as { target: { default: unknown } };
    expect(out.target.default).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', args: { A: '1', B: '2' }, tags: ['x:b'] });
  });
});

describe('bake definition errors, as buildx prints them', () => {
  // Each expected message is hcl's diagnostic (`file:line,col-endcol: Summary; Detail`) as buildx prints it after
  // `ERROR: `, at the range hcl gives: hclsyntax FunctionCallExpr.Value (the name), hcl.Traversal.TraverseAbs (the
  // root name), hclsyntax Body.Content (the attribute's name), buildx's gohcl DecodeExpression (the expression's
  // StartRange, with go-cty's convert.MismatchMessage), hclparser validateVariables (the condition).
  const cases: [string, string, string[]][] = [
    ['an unknown function', 'target "a" {\n  tags = [nosuch(1)]\n}\n', ['docker-bake.hcl:2,11-17: Call to unknown function; There is no function named "nosuch".']],
    ['a misspelt function', 'target "a" {\n  tags = [uper("x")]\n}\n', ['docker-bake.hcl:2,11-15: Call to unknown function; There is no function named "uper". Did you mean "upper"?']],
    ['an unknown variable', 'target "a" {\n  tags = [UNDEFINED]\n}\n', ['docker-bake.hcl:2,11-20: Unknown variable; There is no variable named "UNDEFINED".']],
    ['a misspelt variable', 'variable "TAG" {}\ntarget "a" {\n  tags = ["r/a:${TAGG}"]\n}\n', ['docker-bake.hcl:3,18-22: Unknown variable; There is no variable named "TAGG". Did you mean "TAG"?']],
    ['an unknown attribute', 'target "a" {\n  colour = "red"\n}\n', ['docker-bake.hcl:2,3-9: Unsupported argument; An argument named "colour" is not expected here.']],
    ['a misspelt attribute', 'target "a" {\n  tag = ["x"]\n}\n', ['docker-bake.hcl:2,3-6: Unsupported argument; An argument named "tag" is not expected here. Did you mean "tags"?']],
    ['a block for an attribute', 'target "a" {\n  args {\n    A = "1"\n  }\n}\n', ['docker-bake.hcl:2,3-7: Unsupported block type; Blocks of type "args" are not expected here. Did you mean to define argument "args"? If so, use the equals sign to assign it a value.']],
    ['a string for a list', 'target "a" {\n  tags = "x"\n}\n', ['docker-bake.hcl:2,11-12: Unsuitable value type; Unsuitable value: list of string required, but have string']],
    ['a list in a list of strings', 'target "a" {\n  platforms = ["linux/amd64", ["x"]]\n}\n', ['docker-bake.hcl:2,15-16: Unsuitable value type; Unsuitable value: element 1: string required, but have tuple']],
    ['a list in a map', 'target "a" {\n  args = { A = ["x"] }\n}\n', ['docker-bake.hcl:2,10-11: Unsuitable value type; Unsuitable value: element "A": string required, but have tuple']],
    ['a word for a bool', 'target "a" {\n  pull = "yes"\n}\n', ['docker-bake.hcl:2,11-14: Unsuitable value type; Unsuitable value: a bool is required']],
    ['a list for a string', 'target "a" {\n  context = [1]\n}\n', ['docker-bake.hcl:2,13-14: Unsuitable value type; Unsuitable value: string required, but have tuple']],
    ['a failed validation', 'variable "N" {\n  default = 1\n  validation {\n    condition = N > 2\n    error_message = "N must be > 2"\n  }\n}\ntarget "a" {}\n', ['docker-bake.hcl:4,17-22: Validation failed; N must be > 2']],
    ['a validation without a bool', 'variable "N" {\n  default = 1\n  validation {\n    condition = "maybe"\n    error_message = "no"\n  }\n}\ntarget "a" {}\n', ['docker-bake.hcl:4,17-24: Invalid condition result; Invalid condition result value: a bool is required']],
    ['an unknown target', 'target "b" {}\n', ['failed to find target a']],
    ['an unknown parent', 'target "a" {\n  inherits = ["nope"]\n}\n', ['failed to find target nope']],
  ];
  for (const [what, text, [want]] of cases) {
    it(`reports ${what}`, () => {
      const f = failure(() => print(text, ['a']));
      expect(f.code).to.equal('BAKE_DEFINITION');
      expect(f.message).to.equal(want);
    });
  }

  it('takes a target that inherits from itself, or from one that inherits from it, as buildx does: the repeat is skipped', () => {
    expect((print('target "a" {\n  inherits = ["a"]\n  tags = ["x"]\n}\n', ['a']) as { target: unknown }).target).to.deep.equal({ a: { context: '.', dockerfile: 'Dockerfile', tags: ['x'] } });
    const loop = 'target "a" {\n  inherits = ["b"]\n}\ntarget "b" {\n  inherits = ["a"]\n  tags = ["t"]\n}\n';
    expect((print(loop, ['a']) as { target: unknown }).target).to.deep.equal({ a: { context: '.', dockerfile: 'Dockerfile', tags: ['t'] } });
  });

  it('names the using target\'s platforms first when a target: context\'s are not a subset (loadLinks)', () => {
    const hcl = 'target "base" {\n  platforms = ["linux/amd64", "linux/arm64"]\n}\ntarget "a" {\n  contexts = { b = "target:base" }\n  platforms = ["linux/amd64", "linux/s390x"]\n}\n';
    expect(failure(() => print(hcl, ['a'])).message).to.equal("target base can't be used by a because its platforms [linux/amd64 linux/s390x] are not a subset of [linux/amd64 linux/arm64]");
  });
});

describe('bake file errors', () => {
  const cases: [string, RegExp][] = [
    ['target "a" {\n  tags = ["x"\n  y = 1\n}\n', /^docker-bake\.hcl:3,3-4: expected "," or "\]" in the list/],
    ['target "a" {\n  tags = [bcrypt("x")]\n}\n', /^docker-bake\.hcl:2,11-17: function bcrypt\(\) is not supported by tsbuild bake yet/],
    ['target "a" {\n  policy = ["x"]\n}\n', /^docker-bake\.hcl:2,3-9: target "a": attribute "policy" is not supported by tsbuild bake/],
    ['target "a" {\n  resources = { memroy = "1g" }\n}\n', /^docker-bake\.hcl:2,\d+-\d+: .*unknown resources key "memroy"/],
    ['target "a" {\n  resources = { cpu-shares = "lots" }\n}\n', /^docker-bake\.hcl:2,\d+-\d+: .*invalid value lots for int64 key resources\.cpu-shares/],
    ['target "a" {\n  resources = { cpu-quota = 1.5 }\n}\n', /^docker-bake\.hcl:2,\d+-\d+: .*invalid value 1\.5 for int64 key resources\.cpu-quota/],
    ['variable "A" {\n  default = B\n}\nvariable "B" {\n  default = A\n}\ntarget "a" {}\n', /variable cycle not allowed/],
    ['target "a" {\n  tags = ["unterminated]\n}\n', /^docker-bake\.hcl:2,25-26: unterminated string/],
    ['target "a b" {}\n', /invalid target name "a b"/],
    // CSV values are split as buildx's csvvalue splits them; a malformed one is the file's error at the attribute.
    ['target "a" {\n  output = ["type=local,\\"dest=out"]\n}\n', /^docker-bake\.hcl:2,12-13: Unsuitable value type; Unsuitable value: "type=local,\\"dest=out": parse error on line 1, column 13: extraneous or missing " in quoted-field/],
    ['target "a" {\n  cache-from = ["type=local,src=\\"c\\""]\n}\n', /^docker-bake\.hcl:2,16-17: Unsuitable value type; .*column 16: bare " in non-quoted-field/],
    ['target "a" {\n  output = ["type=local,,dest=out"]\n}\n', /^docker-bake\.hcl:2,12-13: Unsuitable value type; Unsuitable value: "type=local,,dest=out": invalid value "": expected key=value/],
  ];
  for (const [text, want] of cases) {
    it(`reports ${want.source.slice(0, 60)}`, () => {
      let caught: unknown;
      try { print(text, ['a']); } catch (err) { caught = err; }
      expect(caught).to.be.instanceOf(BakeFileError);
      expect((caught as Error).message).to.match(want);
    });
  }
});

describe('bake resources (per-RUN cgroup limits, buildx\'s ResourcesConfig)', () => {
  // buildx's bake_test.go: the full object, its --set overrides, and inherits that do not leak into a sibling.
  const hcl = `
target "base" {
  resources = {
    memory = "1g"
  }
}
target "webapp" {
  inherits = ["base"]
  resources = {
    memory-swap = "4g"
    cpu-shares = 1024
    cpuset-mems = "0,1"
    cpu-period = "100000"
    memory = "2g"
    cpu-quota = 50000
    cpuset-cpus = "0-3"
  }
}
target "other" {
  inherits = ["base"]
}`;
  const targets = (t: string[], sets: string[] = []): Record<string, { resources?: unknown }> => (print(hcl, t, sets) as { target: Record<string, { resources?: unknown }> }).target;

  it('prints the object in ResourcesConfig\'s field order, the int64 fields as numbers (a string that spells one converted)', () => {
    const printed = JSON.stringify(targets(['webapp']).webapp?.resources);
    expect(printed).to.equal('{"memory":"2g","memory-swap":"4g","cpu-shares":1024,"cpu-period":100000,"cpu-quota":50000,"cpuset-cpus":"0-3","cpuset-mems":"0,1"}');
  });

  it('merges an inherited object field by field, without a child\'s limit reaching its base or a sibling', () => {
    const t = targets(['webapp', 'other', 'base']);
    expect(t.other?.resources).to.deep.equal({ memory: '1g' });
    expect(t.base?.resources).to.deep.equal({ memory: '1g' });
    expect((t.webapp?.resources as { memory: string }).memory).to.equal('2g');
  });

  it('takes --set T.resources.KEY=VALUE, refuses a bad int64, a missing name, an append and an unknown key', () => {
    const t = targets(['other'], ['other.resources.cpu-quota=25000', 'other.resources.memory=512m']);
    expect(JSON.stringify(t.other?.resources)).to.equal('{"memory":"512m","cpu-quota":25000}');
    expect(failure(() => targets(['other'], ['other.resources.cpu-quota=notanumber'])).message).to.contain('invalid value notanumber for int64 key resources.cpu-quota');
    expect(failure(() => targets(['other'], ['other.resources=1g'])).message).to.contain('invalid key other.resources, resources requires name');
    expect(failure(() => targets(['other'], ['other.resources.memory+=1g'])).message).to.contain('resources does not support append');
    expect(failure(() => targets(['other'], ['other.resources.swap=1g'])).message).to.contain('unknown resources key "swap"');
  });

  it('prints an empty resources object as buildx prints its non-nil pointer', () => {
    expect((print('target "a" {\n  resources = {}\n}\n', ['a']) as { target: { a: unknown } }).target.a).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', resources: {} });
  });
});
