import { expect } from 'chai';
import { listDefinitions, parseBakeFiles } from './index.js';

// `bake --list`, as buildx's commands/bake.go printTargetList and printVars write it.

const builtins = { BAKE_CMD_CONTEXT: 'cwd://', BAKE_LOCAL_PLATFORM: 'linux/amd64' };

describe('bake --list', () => {
  const config = parseBakeFiles([{ name: 'f.hcl', text: 'variable "TAG" {\n  default = "v1"\n  description = "the tag"\n}\nvariable "N" {\n  default = 3\n}\ngroup "default" {\n  targets = ["web", "api"]\n}\ntarget "api" {\n  description = "The API"\n}\ntarget "web" {}\ntarget "_private" {}\n' }], { lookupVar: () => undefined, builtins });

  it('lists targets and groups sorted, a group described by its targets, private ones hidden, tab-aligned as Go\'s tabwriter', () => {
    expect(listDefinitions(config, 'targets')).to.equal('TARGET\tDESCRIPTION\napi\tThe API\ndefault\tapi, web\nweb\t\n');
  });

  it('lists them as JSON with type=targets,format=json', () => {
    expect(JSON.parse(listDefinitions(config, 'type=targets,format=json'))).to.deep.equal([
      { name: 'api', description: 'The API' }, { name: 'default', description: 'api, web', group: true }, { name: 'web' },
    ]);
  });

  it('lists variables with their values', () => {
    expect(JSON.parse(listDefinitions(config, 'type=variables,format=json'))).to.deep.equal([{ name: 'N', value: '3' }, { name: 'TAG', description: 'the tag', value: 'v1' }]);
  });

  it('refuses a --list value csvvalue refuses as the flag\'s usage error (it was an internal error)', () => {
    expect(() => listDefinitions(config, 'type="targets')).to.throw(/--list "type=\\"targets": parse error on line 1, column 6: bare " in non-quoted-field/)
      .with.property('code', 'INVALID_ARGUMENT');
  });
});
