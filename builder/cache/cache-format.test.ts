import { expect } from 'chai';
import { cacheKey, type CacheExport } from '../../solver/index.js';
import { MediaType, sha256 } from '../../registry/oci/index.js';
import { gzipSync } from 'node:zlib';
import { CACHE_CONFIG_MEDIA_TYPE, CACHE_FILES_MEDIA_TYPE, MAX_CACHE_FILES_JSON, cacheConfig, cacheDocument, parseCacheConfig, parseFilesBlob } from './cache-format.js';
import { cacheEntries, parseCacheFrom, parseCacheTo, redactedEntry } from './cache-spec.js';

const layer = (name: string, size: number) => ({ descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256(`blob ${name}`), size }, diffId: sha256(`tar ${name}`) });
const key = (op: string) => cacheKey({ v: 1, op, opText: `RUN ${op}`, inputs: [], content: {}, args: {}, platform: 'linux/amd64' });

function sample(): CacheExport {
  const base = layer('base', 1000);
  const run = layer('run', 5000);
  const a = key('a');
  const b = key('b');
  return {
    records: [
      { key: a.digest, parts: a.parts, locator: 'Dockerfile#0/0', layers: [base], size: 1000 },
      { key: b.digest, parts: b.parts, locator: 'Dockerfile#0/1', layers: [base, run], size: 5000 },
    ],
    contents: [{ chain: sha256('chain'), selector: sha256('sel'), digest: { digest: sha256('files'), files: { 'out/x': sha256('x') } } }],
  };
}

describe('registry cache format', () => {
  it('writes an OCI manifest whose config is the cache config and whose layers are every layer once', () => {
    const doc = cacheDocument(sample());
    const manifest = JSON.parse(Buffer.from(doc.manifestBytes).toString()) as { artifactType: string; config: { mediaType: string; digest: string }; layers: { digest: string }[] };
    expect(manifest.artifactType).to.equal(CACHE_CONFIG_MEDIA_TYPE);
    expect(manifest.config).to.deep.include({ mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: doc.configDescriptor.digest });
    expect(manifest.layers.map((l) => l.digest)).to.deep.equal([sha256('blob base'), sha256('blob run')]);
    expect(doc.config.records.map((r) => r.layers)).to.deep.equal([[0], [0, 1]]);
  });

  it('parses what it writes back to the same document', () => {
    const doc = cacheDocument(sample());
    expect(parseCacheConfig(JSON.parse(Buffer.from(doc.configBytes).toString()), 'test')).to.deep.equal(doc.config);
  });

  it('keeps a fact known only by its step\'s key apart (`keyed`), so a reader of `contents` alone reads on as before', () => {
    const exported = sample();
    const keyedFact = { source: key('a').digest, selector: sha256('sel2'), digest: { digest: sha256('files2'), files: { 'out/y': sha256('y') } } };
    const both = { ...exported.contents[0], source: key('b').digest } as CacheExport['contents'][number];
    const doc = cacheDocument({ ...exported, contents: [both, keyedFact] });
    expect(doc.config.contents).to.deep.equal([both]);
    expect(doc.config.keyed).to.deep.equal([keyedFact]);
    const raw = JSON.parse(Buffer.from(doc.configBytes).toString()) as { contents: { chain?: string }[]; keyed?: { chain?: string; source?: string }[] };
    expect(raw.contents.every((c) => typeof c.chain === 'string')).to.equal(true);
    expect(parseCacheConfig(raw, 'test')).to.deep.equal(doc.config);
    const nameless = structuredClone(raw);
    if (nameless.keyed?.[0]) delete nameless.keyed[0].source;
    expect(() => parseCacheConfig(nameless, 'test')).to.throw(/keyed\[0\]\.source/).with.property('code', 'INVALID_ARGUMENT');
  });

  it('carries each record\'s per-file digests in a gzipped blob of its own, listed after the layers and named by the record', () => {
    const exported = sample();
    const files = { context: { 'src/a.ts': sha256('a'), 'src/b.ts': sha256('b') } };
    const withFiles: CacheExport = { ...exported, records: exported.records.map((r, i) => (i === 1 ? { ...r, files } : r)) };
    const doc = cacheDocument(withFiles);
    expect(doc.files).to.have.length(1);
    const blob = doc.files[0]!;
    expect(blob.descriptor).to.deep.include({ mediaType: CACHE_FILES_MEDIA_TYPE, digest: sha256(blob.bytes), size: blob.bytes.length });
    expect(doc.config.records.map((r) => r.files)).to.deep.equal([undefined, blob.descriptor]);
    const manifest = JSON.parse(Buffer.from(doc.manifestBytes).toString()) as { layers: { digest: string }[] };
    expect(manifest.layers.map((l) => l.digest)).to.deep.equal([...doc.layers.map((l) => l.digest), blob.descriptor.digest]);
    expect(parseFilesBlob(blob.bytes, 'test')).to.deep.equal(files);
    expect(parseCacheConfig(JSON.parse(Buffer.from(doc.configBytes).toString()), 'test').records[1]?.files).to.deep.equal(blob.descriptor);
    // The same document again (deterministic gzip), and an inline cache (no blobs of its own) names none.
    expect(Buffer.from(cacheDocument(withFiles).manifestBytes).equals(Buffer.from(doc.manifestBytes))).to.equal(true);
    expect(cacheConfig(withFiles).records.map((r) => r.files)).to.deep.equal([undefined, undefined]);
  });

  it('refuses a hostile files blob: not gzip, unzipping past the bound, not a map of paths to digests; and a record naming an oversized one', () => {
    const bad = (bytes: Uint8Array): unknown => expect(() => parseFilesBlob(bytes, 'r')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    bad(Buffer.from('{"context":{}}'));
    bad(gzipSync(Buffer.alloc(MAX_CACHE_FILES_JSON + 1, 0x20)));
    bad(gzipSync(Buffer.from('[1,2]')));
    bad(gzipSync(Buffer.from('{"context":{"a":"not-a-digest"}}')));
    bad(gzipSync(Buffer.from('{"context":"x"}')));
    const doc = JSON.parse(Buffer.from(cacheDocument(sample()).configBytes).toString()) as { records: Record<string, unknown>[] };
    doc.records[0]!['files'] = { mediaType: CACHE_FILES_MEDIA_TYPE, digest: sha256('x'), size: 1 << 30 };
    expect(() => parseCacheConfig(doc, 'test')).to.throw(/records\[0\]\.files\.size/);
  });

  it('refuses a record whose key is not the digest of its parts, and out-of-range layer indexes', () => {
    const good = JSON.parse(Buffer.from(cacheDocument(sample()).configBytes).toString()) as { records: { key: string; layers: number[] }[] };
    const forged = structuredClone(good);
    if (forged.records[0]) forged.records[0].key = sha256('other');
    expect(() => parseCacheConfig(forged, 'test')).to.throw(/not the digest of its parts/).with.property('code', 'INVALID_ARGUMENT');
    const outOfRange = structuredClone(good);
    if (outOfRange.records[0]) outOfRange.records[0].layers = [7];
    expect(() => parseCacheConfig(outOfRange, 'test')).to.throw(/bad layer index/);
    for (const junk of [null, [], { v: 2 }, { v: 1, layers: 'x' }]) expect(() => parseCacheConfig(junk, 'test')).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('parses --cache-to and --cache-from as buildx writes them', () => {
    expect(parseCacheTo('type=registry,ref=r.example/app:cache,mode=max')).to.deep.equal({ type: 'registry', ref: 'r.example/app:cache', mode: 'max' });
    expect(parseCacheTo('type=local,dest=/tmp/c')).to.deep.equal({ type: 'local', dest: '/tmp/c', mode: 'min' });
    expect(parseCacheTo('type=inline')).to.deep.equal({ type: 'inline' });
    expect(parseCacheFrom('r.example/app:cache')).to.deep.equal({ type: 'registry', ref: 'r.example/app:cache' });
    expect(parseCacheFrom('type=local,src=/tmp/c')).to.deep.equal({ type: 'local', src: '/tmp/c' });
    expect(() => parseCacheTo('type=registry,mode=max')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => parseCacheTo('type=registry,ref=x,mode=all')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => parseCacheFrom('type=s3,bucket=b')).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });

  it('reads a bare --cache-to REF as type=registry, and comma-separated bare refs as several entries, as buildx', () => {
    expect(parseCacheTo('r.example/app:cache')).to.deep.equal({ type: 'registry', ref: 'r.example/app:cache', mode: 'min' });
    expect(cacheEntries(['a/app:cache,b/app:cache', '', 'type=local,dest=/tmp/c,mode=max'], '--cache-to')).to.deep.equal(['a/app:cache', 'b/app:cache', 'type=local,dest=/tmp/c,mode=max']);
  });

  it('splits cache values as buildx\'s csvvalue does: quotes group, spaces are kept, an open quote is the flag\'s usage error', () => {
    expect(cacheEntries(['a/app:cache, b/app:cache'], '--cache-from')).to.deep.equal(['a/app:cache', ' b/app:cache']);
    expect(parseCacheTo('type=local,"dest=/tmp/a,b",mode=max')).to.deep.equal({ type: 'local', dest: '/tmp/a,b', mode: 'max' });
    expect(parseCacheFrom('type=local,src= /tmp/c')).to.deep.equal({ type: 'local', src: ' /tmp/c' });
    for (const bad of ['"a/app:cache', 'type=local,dest="/tmp/c"']) {
      expect(() => cacheEntries([bad], '--cache-to').map((t) => parseCacheTo(t)), bad).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
    expect(() => parseCacheTo('type=local,,dest=/tmp/c')).to.throw(/invalid field ""/).with.property('code', 'INVALID_ARGUMENT');
  });

  it('reads type=gha\'s service as buildx fills it in and BuildKit chooses its version', () => {
    const runner = { ACTIONS_RUNTIME_TOKEN: 'tok', ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/' };
    expect(parseCacheTo('type=gha,mode=max', runner)).to.deep.equal({
      type: 'gha', mode: 'max', scope: 'buildkit', timeoutMs: 600_000, service: { url: 'https://results-receiver.actions.githubusercontent.com/', token: 'tok' },
    });
    // An explicit url_v2 and token win over the environment; timeout is a Go duration.
    expect(parseCacheFrom('type=gha,scope=main,url_v2=http://cache.internal/,token=t2,timeout=90s', runner)).to.deep.equal({
      type: 'gha', scope: 'main', timeoutMs: 90_000, service: { url: 'http://cache.internal/', token: 't2' },
    });
    // The results receiver's URL as `url` (an older buildx) is version 2 too; any other bare `url` is version 1.
    expect(parseCacheFrom('type=gha', { ACTIONS_RUNTIME_TOKEN: 'tok', ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/' })).to.have.property('type', 'gha');
    expect(() => parseCacheFrom('type=gha', { ACTIONS_RUNTIME_TOKEN: 'tok', ACTIONS_CACHE_URL: 'https://artifactcache.actions.githubusercontent.com/x/' })).to.throw(/version 1/);
    expect(parseCacheFrom('type=gha,version=2,url=http://cache.internal/', { ACTIONS_RUNTIME_TOKEN: 'tok' })).to.have.nested.property('service.url', 'http://cache.internal/');
    expect(() => parseCacheTo('type=gha,version=two', runner)).to.throw(/api version/);
    expect(() => parseCacheTo('type=gha,scope=a#b', runner)).to.throw(/scope "a#b"/);
    expect(() => parseCacheTo('type=gha,token=secret-1,url_v2=http://x/,bogus=1', {})).to.throw(/"bogus"/).and.satisfy((e: Error) => !e.message.includes('secret-1'));
  });

  it('reads upload_parallelism of type=s3 as BuildKit does: a positive integer, 4 when absent, a bad value refused in BuildKit\'s words', () => {
    const env = { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent' };
    const parallelism = (spec: ReturnType<typeof parseCacheTo> | ReturnType<typeof parseCacheFrom>): unknown => ('uploadParallelism' in spec ? spec.uploadParallelism : undefined);
    expect(parallelism(parseCacheTo('type=s3,bucket=b,region=r', env))).to.equal(4);
    expect(parallelism(parseCacheTo('type=s3,bucket=b,region=r,upload_parallelism=1', env))).to.equal(1);
    expect(parallelism(parseCacheFrom('type=s3,bucket=b,region=r,upload_parallelism=+12', env))).to.equal(12);
    for (const bad of ['0', '-2', 'four', '2.5', '', ' 3']) {
      expect(() => parseCacheTo(`type=s3,bucket=b,region=r,upload_parallelism=${bad}`, env), bad).to.throw('upload_parallelism must be a positive integer').with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('reads type=azblob as BuildKit\'s getConfig: attributes over BUILDKIT_AZURE_STORAGE_*, the account from the URL\'s host, its defaults', () => {
    const key = Buffer.from('account key').toString('base64');
    expect(parseCacheTo(`type=azblob,account_url=https://acct.blob.core.windows.net,secret_access_key=${key},mode=max`, {})).to.deep.equal({
      type: 'azblob', mode: 'max', location: {
        accountUrl: 'https://acct.blob.core.windows.net', accountName: 'acct', container: 'buildkit-cache', prefix: '',
        blobsPrefix: 'blobs', manifestsPrefix: 'manifests', names: ['buildkit'], secretAccessKey: key,
      },
    });
    const env = { BUILDKIT_AZURE_STORAGE_ACCOUNT_URL: 'http://127.0.0.1:10000/devstoreaccount1', BUILDKIT_AZURE_STORAGE_ACCOUNT_NAME: 'devstoreaccount1', BUILDKIT_AZURE_STORAGE_CONTAINER: 'ci', BUILDKIT_AZURE_STORAGE_PREFIX: 'app' };
    expect(parseCacheFrom(`type=azblob,secret_access_key=${key},name=main;pr-1,container=other`, env)).to.deep.equal({
      type: 'azblob', location: {
        accountUrl: 'http://127.0.0.1:10000/devstoreaccount1', accountName: 'devstoreaccount1', container: 'other', prefix: 'app',
        blobsPrefix: 'blobs', manifestsPrefix: 'manifests', names: ['main', 'pr-1'], secretAccessKey: key,
      },
    });
    for (const [entry, words] of [
      [`type=azblob,secret_access_key=${key}`, 'account_url ($BUILDKIT_AZURE_STORAGE_ACCOUNT_URL) not set'],
      [`type=azblob,account_url=ftp://acct/,secret_access_key=${key}`, 'not an http(s) URL'],
      [`type=azblob,account_url=https://acct.blob.core.windows.net/?sv=2022&sig=x,secret_access_key=${key}`, 'without a query'],
      ['type=azblob,account_url=https://acct.blob.core.windows.net', 'no secret_access_key'],
      ['type=azblob,account_url=https://acct.blob.core.windows.net,secret_access_key=not-base64!', 'not base64'],
      [`type=azblob,account_url=https://acct.blob.core.windows.net,secret_access_key=${key},bucket=b`, '"bucket"'],
    ] as [string, string][]) {
      expect(() => parseCacheTo(entry, {}), entry).to.throw(words)
        .and.satisfy((e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && !/not-base64|sig=x/.test(e.message) && !e.message.includes(key));
    }
  });

  it('shows cache entries without their credentials', () => {
    expect(redactedEntry('type=gha,token=abc,scope=x,ghtoken=def')).to.equal('type=gha,token=***,scope=x,ghtoken=***');
    expect(redactedEntry('token=abc')).to.equal('token=***');
    expect(redactedEntry('type=registry,ref=r/app:cache')).to.equal('type=registry,ref=r/app:cache');
    expect(redactedEntry('type=azblob,account_url=https://a.blob.core.windows.net,secret_access_key=a2V5,mode=max')).to.equal('type=azblob,account_url=https://a.blob.core.windows.net,secret_access_key=***,mode=max');
    expect(redactedEntry('type=azblob,account_url=https://a.blob.core.windows.net/?sv=1&sig=abc,name=x')).to.equal('type=azblob,account_url=https://a.blob.core.windows.net/?***,name=x');
  });
});
