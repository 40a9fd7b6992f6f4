import { expect } from 'chai';
import { createBuilder, removeBuilders, useBuilder, type CreateRequest } from './manage.js';
import { currentBuilder, findBuilder, parseBuilders, requireBuilder, validateName, type BuilderRecords } from './records.js';

const req = (r: Partial<CreateRequest>): CreateRequest => ({ platforms: [], driverOpts: [], append: false, leave: false, use: false, ...r });
const none: BuilderRecords = { builders: [] };

describe('builder records as buildx keeps its instances', () => {
  it('accepts and lower-cases the names buildx accepts, and refuses the others with its message', () => {
    // buildx store/util.go: ^[a-zA-Z][a-zA-Z0-9\.\-_]*$, stored lower-cased.
    expect(validateName('CI_builder-1.x')).to.equal('ci_builder-1.x');
    for (const bad of ['1abc', '-x', 'a b', 'a/b', '', 'é']) {
      expect(() => validateName(bad), bad).to.throw(`invalid name ${bad}, name needs to start with a letter and may not contain symbols, except ._-`)
        .with.property('code', 'BUILDER_INVALID');
    }
  });

  it('creates a builder with node NAME0, makes it current with --use, and finds it by any case', () => {
    const { records, name, warnings } = createBuilder(none, req({ name: 'CI', use: true, driver: 'docker-container' }));
    expect(name).to.equal('ci');
    expect(records.current).to.equal('ci');
    expect(records.builders).to.deep.equal([{ name: 'ci', driver: 'docker-container', nodes: [{ name: 'ci0', platforms: [], driverOpts: {}, flags: [] }] }]);
    expect(findBuilder(records, 'Ci')).to.have.property('name', 'ci');
    expect(warnings).to.have.length(1).and.to.satisfy((w: string[]) => w[0]?.includes('builds on this machine'));
  });

  it('refuses what buildx refuses, with its words', () => {
    const one = createBuilder(none, req({ name: 'a' })).records;
    const cases: [BuilderRecords, Partial<CreateRequest>, string][] = [
      [none, { name: 'default' }, 'default is a reserved name and cannot be used to identify builder instance'],
      [none, { append: true }, 'append requires a builder name'],
      [none, { name: 'x', append: true }, 'failed to find instance "x" for append'],
      [one, { name: 'a' }, 'existing instance for "a" but no append mode, specify the node name to make changes for existing instances'],
      [one, { name: 'a', append: true, driver: 'kubernetes' }, 'existing instance for "a" but has mismatched driver "docker-container"'],
      [none, { name: 'x', driver: 'docker' }, 'additional instances of driver "docker" cannot be created'],
      [none, { name: 'x', driver: 'nope' }, 'failed to find driver "nope"'],
      [none, { name: 'x', driverOpts: ['image'] }, 'invalid value "image", expecting k=v'],
      // csvToMap splits with csvvalue: an empty field is no k=v, a quote inside an unquoted field a parse error.
      [none, { name: 'x', driverOpts: ['image=x,,network=host'] }, 'invalid value "", expecting k=v'],
      [none, { name: 'x', driverOpts: ['image="x"'] }, 'parse error on line 1, column 7: bare " in non-quoted-field'],
      [one, { name: 'a', node: 'a0', leave: true }, 'can not leave last node, do you want to rm instance instead?'],
    ];
    for (const [records, r, message] of cases) expect(() => createBuilder(records, req(r), {}), message).to.throw(message);
  });

  it('appends nodes, changes a named one, and leaves one', () => {
    let records = createBuilder(none, req({ name: 'a', platforms: ['linux/amd64'] })).records;
    records = createBuilder(records, req({ name: 'a', append: true, endpoint: 'ssh://h', driverOpts: ['image=x,network=host'] })).records;
    expect(records.builders[0]?.nodes.map((n) => n.name)).to.deep.equal(['a0', 'a1']);
    expect(records.builders[0]?.nodes[1]).to.deep.include({ endpoint: 'ssh://h', driverOpts: { image: 'x', network: 'host' } });
    // A quoted field keeps its commas; a key keeps its case (an env.NAME is a variable's name).
    const quoted = createBuilder(none, req({ name: 'q', driverOpts: ['"env.NO_PROXY=a,b",image=x'] })).records;
    expect(quoted.builders[0]?.nodes[0]?.driverOpts).to.deep.equal({ 'env.NO_PROXY': 'a,b', image: 'x' });
    records = createBuilder(records, req({ name: 'a', node: 'a0', platforms: ['linux/arm64'] })).records;
    expect(records.builders[0]?.nodes[0]?.platforms).to.deep.equal(['linux/arm64']);
    records = createBuilder(records, req({ name: 'a', node: 'a1', leave: true })).records;
    expect(records.builders[0]?.nodes.map((n) => n.name)).to.deep.equal(['a0']);
  });

  it('warns about what tsbuild does not apply, but not about setup-buildx-action\'s entitlement flags', () => {
    const flags = '--allow-insecure-entitlement security.insecure --allow-insecure-entitlement=network.host';
    expect(createBuilder(none, req({ name: 'a', buildkitdFlags: flags })).warnings).to.have.length(1);
    const w = createBuilder(none, req({ name: 'a', buildkitdFlags: `${flags} --oci-worker-gc=false`, config: 'b.toml', endpoint: 'tcp://h:1' })).warnings;
    expect(w.join('\n')).to.contain('--oci-worker-gc=false').and.to.contain('b.toml').and.to.contain('tcp://h:1');
  });

  it('uses, removes and falls back to default as buildx does; default cannot be removed', () => {
    let records = createBuilder(none, req({ name: 'a', use: true })).records;
    expect(currentBuilder(useBuilder(records, 'default'))).to.equal('default');
    expect(() => useBuilder(records, 'zz')).to.throw('failed to find instance "zz"').with.property('code', 'BUILDER_NOT_FOUND');
    const rm = removeBuilders(records, ['', 'default', 'zz']);
    expect(rm.outcomes).to.deep.equal([
      { name: 'a', removed: true },
      { name: 'default', removed: false, error: 'the default builder cannot be removed: it is this machine' },
      { name: 'zz', removed: false, error: 'no builder "zz" found' },
    ]);
    records = rm.records;
    expect(currentBuilder(records)).to.equal('default');
    expect(() => requireBuilder(records, 'a')).to.throw('no builder "a" found').with.property('code', 'BUILDER_NOT_FOUND');
  });

  it('refuses a builders file that is not one, naming it', () => {
    for (const text of ['{', '{}', '{"builders":[{"name":"../x","driver":"d","nodes":[]}]}', '{"builders":[{"name":"a","driver":"d","nodes":[{"name":"a0"}]}]}']) {
      expect(() => parseBuilders(text, '/r/builders.json'), text).to.throw('/r/builders.json is not a tsbuild builders file').with.property('code', 'BUILDER_INVALID');
    }
  });
});
