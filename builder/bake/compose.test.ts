import { expect } from 'chai';
import { parseBakeFiles, printDefinition, resolveTargets, type BakeFile } from './index.js';
import { parseComposeFiles } from './compose.js';

// Compose files as bake reads them; expected documents written from buildx's bake/compose_test.go and bake_test.go.

const builtins = { BAKE_CMD_CONTEXT: 'cwd://', BAKE_LOCAL_PLATFORM: 'linux/amd64' };

function print(files: BakeFile[], targets: string[] = ['default'], sets: string[] = [], env: Record<string, string> = {}): unknown {
  const config = parseBakeFiles(files, { lookupVar: (n) => env[n], builtins });
  return JSON.parse(printDefinition(resolveTargets(config, targets, sets)));
}

describe('bake compose files', () => {
  it('maps services with build sections to targets in the default group (compose_test.go TestParseCompose)', () => {
    const yaml = `
services:
  db:
    build: ./db
    command: ./entrypoint.sh
    image: docker.io/tonistiigi/db
  webapp:
    build:
      context: ./dir
      additional_contexts:
        foo: ./bar
      dockerfile: Dockerfile-alternate
      network:
        none
      args:
        buildno: 123
      cache_from:
        - type=local,src=path/to/cache
      cache_to:
        - type=local,dest=path/to/cache
      extra_hosts:
        - "somehost:162.242.195.82"
        - "somehost:162.242.195.83"
        - "myhostv6:::1"
      ssh:
        - key=/path/to/key
        - default
      secrets:
        - token
        - aws
  webapp2:
    profiles:
      - test
    build:
      context: ./dir
      dockerfile_inline: |
        FROM alpine
  nobuild:
    image: redis
secrets:
  token:
    environment: ENV_TOKEN
  aws:
    file: /root/.aws/credentials
`;
    expect(print([{ name: 'compose.yaml', text: yaml }])).to.deep.equal({
      group: { default: { targets: ['db', 'webapp', 'webapp2'] } },
      target: {
        db: { context: 'db', dockerfile: 'Dockerfile', tags: ['docker.io/tonistiigi/db'] },
        webapp: {
          context: 'dir', contexts: { foo: './bar' }, dockerfile: 'Dockerfile-alternate', args: { buildno: '123' },
          'cache-from': [{ src: 'path/to/cache', type: 'local' }], 'cache-to': [{ dest: 'path/to/cache', type: 'local' }],
          secret: [{ id: 'aws', src: '/root/.aws/credentials' }, { id: 'token', env: 'ENV_TOKEN' }],
          ssh: [{ id: 'default' }, { id: 'key', paths: ['/path/to/key'] }],
          network: 'none', 'extra-hosts': { myhostv6: '::1', somehost: '162.242.195.82,162.242.195.83' },
        },
        webapp2: { context: 'dir', dockerfile: 'Dockerfile', 'dockerfile-inline': 'FROM alpine\n' },
      },
    });
  });

  it('merges compose files in order and interpolates from the environment (TestReadTargetsCompose)', () => {
    const files = [
      { name: 'docker-compose.yml', text: 'services:\n  db:\n    build: .\n    image: docker.io/tonistiigi/db:${TAG:-latest}\n  webapp:\n    build:\n      dockerfile: Dockerfile.webapp\n      args:\n        buildno: 1\n' },
      { name: 'docker-compose2.yml', text: 'services:\n  newservice:\n    build: .\n  webapp:\n    build:\n      args:\n        buildno2: 12\n' },
    ];
    const out = print(files, ['default'], [], { TAG: 'v2' }) as { group: unknown; target: Record<string, unknown> };
    expect(out.group).to.deep.equal({ default: { targets: ['db', 'newservice', 'webapp'] } });
    expect(out.target.webapp).to.deep.equal({ context: '.', dockerfile: 'Dockerfile.webapp', args: { buildno: '1', buildno2: '12' } });
    expect(out.target.db).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', tags: ['docker.io/tonistiigi/db:v2'] });
  });

  it('merges several compose files as compose-go does: lists appended, args by key, a build path as its context', () => {
    const out = print([
      { name: 'compose.yaml', text: 'services:\n  app:\n    build: { context: ., tags: ["r/app:1"], args: ["A=1"], platforms: [linux/amd64] }\n' },
      { name: 'compose.override.yaml', text: 'services:\n  app:\n    build: { tags: ["r/app:2"], args: ["B=2"], platforms: [linux/arm64] }\n  db:\n    build: ./db\n' },
      { name: 'compose.more.yaml', text: 'services:\n  db:\n    build: { dockerfile: Dockerfile.db }\n' },
    ]) as { target: Record<string, Record<string, unknown>> };
    expect(out.target['app']).to.deep.include({ args: { A: '1', B: '2' }, tags: ['r/app:1', 'r/app:2'], platforms: ['linux/amd64', 'linux/arm64'] });
    expect(out.target['db']).to.deep.include({ context: 'db', dockerfile: 'Dockerfile.db' });
  });

  it('reads build.sbom and build.provenance as attestations (TestParseComposeAttests, ...Disabled)', () => {
    const out = print([{ name: 'compose.yaml', text: 'services:\n  app:\n    build: { context: ., sbom: true, provenance: mode=max }\n  off:\n    build: { context: ., sbom: false, provenance: false }\n' }]) as { target: Record<string, Record<string, unknown>> };
    expect(out.target['app']?.['attest']).to.deep.equal([{ type: 'sbom' }, { type: 'provenance', mode: 'max' }]);
    expect(out.target['off']?.['attest']).to.deep.equal([{ type: 'sbom', disabled: true }, { type: 'provenance', disabled: true }]);
  });

  it('reads a file of another name as compose when it is one (validateComposeFile: `-f compose.prod`, `-f -`)', () => {
    const out = print([{ name: 'compose.prod', text: 'services:\n  app:\n    build: .\n' }]) as { target: Record<string, unknown> };
    expect(Object.keys(out.target)).to.deep.equal(['app']);
  });

  it('reads the services of included files and of extended services (TestInclude; compose-go ApplyExtends)', () => {
    const files: Record<string, string> = { 'sub/compose-foo.yml': 'services:\n  foo:\n    build: { context: ., target: buildfoo }\n' };
    const parsed = parseComposeFiles([{ name: 'compose.yaml', text: [
      'include: [sub/compose-foo.yml]',
      'services:',
      '  bar: { build: { context: ., target: buildbar } }',
      '  base: { build: { context: ./base, args: [A=1] } }',
      '  ext: { extends: base, build: { args: [B=2] } }',
      '',
    ].join('\n') }], () => undefined, (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`no ${path}`);
      return text;
    });
    const byName = Object.fromEntries(parsed.targets.map((t) => [t.name, t.target]));
    expect(Object.keys(byName).sort()).to.deep.equal(['bar', 'base', 'ext', 'foo']);
    expect(byName['foo']).to.deep.include({ target: 'buildfoo' });
    expect(byName['ext']).to.deep.include({ context: 'base', args: { A: '1', B: '2' } });
    expect(() => parseComposeFiles([{ name: 'c.yaml', text: 'services:\n  a: { extends: b, build: . }\n  b: { extends: a, build: . }\n' }], () => undefined)).to.throw('extends cycle');
  });

  it('adds x-bake attributes and lets a bake file add to a compose target', () => {
    const out = print([
      { name: 'compose.yaml', text: 'services:\n  app:\n    build:\n      context: .\n      x-bake:\n        platforms: linux/amd64 linux/arm64\n        tags:\n          - r/app:1\n        output: type=registry\n' },
      { name: 'docker-bake.hcl', text: 'target "app" {\n  args = { A = "1" }\n}\n' },
    ]) as { target: { app: unknown } };
    expect(out.target.app).to.deep.equal({ context: '.', dockerfile: 'Dockerfile', args: { A: '1' }, tags: ['r/app:1'], platforms: ['linux/amd64', 'linux/arm64'], output: [{ type: 'registry' }] });
  });

  it('refuses a YAML alias inside its own anchor and an alias bomb by file, as compose-go does, never overflowing the stack', () => {
    const parse = (text: string) => () => parseComposeFiles([{ name: 'compose.yaml', text }], () => undefined);
    expect(parse('x-a: &a\n  b: *a\nservices: {}\n')).to.throw('compose.yaml: invalid YAML: an alias (*name) refers to a node that holds it');
    expect(parse('services:\n  a: &s\n    build: .\n    x: *s\n')).to.throw('an alias (*name) refers to a node that holds it');
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    expect(parse(`x-bomb:\n${levels.map((l) => `  ${l}`).join('\n')}\nservices: {}\n`)).to.throw(/compose.yaml: invalid YAML: .*alias/i);
    // An anchor used twice side by side is no cycle.
    expect(parse('x-b: &b { context: . }\nservices:\n  a: { build: *b }\n  c: { build: *b }\n')).not.to.throw();
  });
});
