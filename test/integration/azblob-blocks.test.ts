import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { AzblobCache, type AzblobBlockSizes, type AzblobLocation } from '../../builder/cache/azblob/azblob-cache.js';
import { sharedKeyAuthorization } from '../../builder/cache/azblob/shared-key.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type RunningAzurite } from '../fixtures/azurite.js';
import { startFaultProxy, type FaultProxy } from '../fixtures/fault-proxy.js';
import { pushBlobFile, randomFileBlob, readStoreBlob, type FileBlob } from '../fixtures/store-blobs.js';

// The azblob cache's block upload (Put Block, Put Block List), against Azurite (Microsoft's emulator, which checks
// each request's Shared Key signature, query parameters included, and each block's Content-MD5) behind the fault
// proxy, which logs every request. The store is driven in-process with 4 MiB blocks instead of BuildKit's 32 MiB and
// a single-request limit of 6 MiB instead of Azure's 5000 MiB; azblob-cache.test.ts goes through the CLI with the
// real sizes.

const MiB = 1024 ** 2;
const SIZES: AzblobBlockSizes = { blockSize: 4 * MiB, maxSingleBytes: 6 * MiB };

describe('Azure Blob Storage cache: block upload of big blobs', function () {
  this.timeout(120_000);
  let azurite: RunningAzurite;
  let proxy: FaultProxy;
  let dir: string;

  const location = (prefix: string): AzblobLocation => ({
    accountUrl: `http://${proxy.host}/${AZURITE_ACCOUNT}`, accountName: AZURITE_ACCOUNT, container: 'blocks', prefix,
    blobsPrefix: 'blobs', manifestsPrefix: 'manifests', names: ['buildkit'], secretAccessKey: AZURITE_KEY,
  });
  const blob = (size: number): Promise<FileBlob> => randomFileBlob(dir, size);
  /** Get Block List of a blob, signed with the account key: its committed blocks' sizes and its uncommitted blocks' count. */
  const blockList = async (key: string): Promise<{ committed: number[]; uncommitted: number }> => {
    const url = new URL(`${azurite.accountUrl}/blocks/${encodeURIComponent(key)}?comp=blocklist&blocklisttype=all`);
    const headers = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': '2021-08-06' };
    const res = await request(url, { headers: { ...headers, authorization: sharedKeyAuthorization(AZURITE_ACCOUNT, Buffer.from(AZURITE_KEY, 'base64'), { method: 'GET', url, headers }) } });
    const xml = await res.body.text();
    expect(res.statusCode, xml).to.equal(200);
    const sizes = (part: string): number[] => [...part.matchAll(/<Size>(\d+)<\/Size>/g)].map((m) => Number(m[1]));
    return { committed: sizes(/<CommittedBlocks>(.*)<\/CommittedBlocks>/s.exec(xml)?.[1] ?? ''), uncommitted: sizes(/<UncommittedBlocks>(.*)<\/UncommittedBlocks>/s.exec(xml)?.[1] ?? '').length };
  };
  /** The requests the proxy saw for `key` since `from`, as `METHOD comp` (`-` for none). */
  const requestsOf = (key: string, from: number): string[] => proxy.log.slice(from).filter((e) => e.path.split('?')[0]?.endsWith(`/${encodeURIComponent(key)}`))
    .map((e) => `${e.method} ${new URLSearchParams(e.path.split('?')[1] ?? '').get('comp') ?? '-'}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-azblocks-'));
    azurite = await startAzurite(join(dir, 'azurite'));
    proxy = await startFaultProxy(new URL(azurite.accountUrl).host);
  });
  after(async () => {
    await proxy?.close();
    await azurite?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uploads a blob over one block from its file as blocks into a container it creates, committed in order, read back verified', async () => {
    // Straight to Azurite: through the proxy, an answer Azurite gives before reading a block's body (ContainerNotFound)
    // stalls the proxy's forwarding of that body until Azurite's keep-alive timeout.
    const direct = new AzblobCache({ ...location('ci'), accountUrl: azurite.accountUrl }, SIZES);
    const first = await blob(13 * MiB + 77);
    expect(await pushBlobFile(direct, first)).to.equal('uploaded');
    expect(await blockList(`ci/blobs/${first.desc.digest}`)).to.deep.equal({ committed: [4 * MiB, 4 * MiB, 4 * MiB, MiB + 77], uncommitted: 0 });
    expect((await readStoreBlob(direct, first)).equals(first.bytes)).to.equal(true);

    const cache = new AzblobCache(location('ci'), SIZES);
    const big = await blob(8 * MiB + 1);
    const from = proxy.log.length;
    expect(await pushBlobFile(cache, big)).to.equal('uploaded');
    const key = `ci/blobs/${big.desc.digest}`;
    expect(requestsOf(key, from)).to.have.members(['HEAD -', 'PUT block', 'PUT block', 'PUT block', 'PUT blocklist']);
    expect(await blockList(key)).to.deep.equal({ committed: [4 * MiB, 4 * MiB, 1], uncommitted: 0 });
    expect((await readStoreBlob(cache, big)).equals(big.bytes)).to.equal(true);

    const small = await blob(4 * MiB);
    const before = proxy.log.length;
    expect(await pushBlobFile(cache, small)).to.equal('uploaded');
    expect(requestsOf(`ci/blobs/${small.desc.digest}`, before)).to.deep.equal(['HEAD -', 'PUT -']);
  });

  it('sends a failed block again on its own; a block that keeps failing fails the push with the cache, the block and the blob named', async () => {
    const cache = new AzblobCache(location('retry'), SIZES);
    const once = await blob(9 * MiB);
    proxy.add({ method: 'PUT', path: /retry%2Fblobs%2F.*comp=block&/, times: 1, fault: { kind: 'status', status: 503 } });
    const from = proxy.log.length;
    expect(await pushBlobFile(cache, once)).to.equal('uploaded');
    expect(requestsOf(`retry/blobs/${once.desc.digest}`, from).filter((r) => r === 'PUT block')).to.have.length(4);
    expect((await readStoreBlob(cache, once)).equals(once.bytes)).to.equal(true);

    const never = await blob(9 * MiB);
    proxy.add({ method: 'PUT', path: /retry%2Fblobs%2F.*comp=block&/, times: 100, fault: { kind: 'status', status: 500 } });
    const failure = await pushBlobFile(cache, never).then(() => undefined, (err: unknown) => err);
    expect(failure).to.have.property('code', 'REGISTRY_REQUEST');
    expect(String((failure as Error).message)).to.match(new RegExp(`^cache azblob://devstoreaccount1/blocks/retry: Put Block [123] of retry/blobs/${never.desc.digest} failed with HTTP 500$`));
    expect(await cache.has(never.desc)).to.equal(false);
  });

  it('sends a blob known only as a stream in one Put Blob up to the single-request limit, and in blocks above it', async () => {
    const cache = new AzblobCache(location('stream'), SIZES);
    for (const [size, blocks] of [[6 * MiB, 0], [9 * MiB + 1, 3]] as const) {
      const b = await blob(size);
      const from = proxy.log.length;
      const open = async (): Promise<Readable> => Readable.from(Array.from({ length: Math.ceil(size / 700_000) }, (_, i) => b.bytes.subarray(i * 700_000, (i + 1) * 700_000)));
      expect(await cache.push(b.desc, open)).to.equal('uploaded');
      const sent = requestsOf(`stream/blobs/${b.desc.digest}`, from);
      expect(sent.filter((r) => r === 'PUT block')).to.have.length(blocks);
      expect(sent.filter((r) => r === 'PUT -')).to.have.length(blocks === 0 ? 1 : 0);
      expect((await readStoreBlob(cache, b)).equals(b.bytes)).to.equal(true);
    }
  });

  it('finds a blob another writer committed first as good (If-None-Match: * on Put Block List), and leaves that blob as it was', async () => {
    const cache = new AzblobCache(location('race'), SIZES);
    const b = await blob(9 * MiB);
    await pushBlobFile(cache, b);
    const key = `race/blobs/${b.desc.digest}`;
    const first = await blockList(key);
    // The HEAD answers "not there", as it would have a moment before the other writer's commit.
    proxy.add({ method: 'HEAD', path: /race%2Fblobs%2F/, times: 1, fault: { kind: 'status', status: 404 } });
    const from = proxy.log.length;
    expect(await pushBlobFile(cache, b)).to.equal('uploaded');
    expect(requestsOf(key, from).filter((r) => r === 'PUT blocklist')).to.have.length(1);
    const after = await blockList(key);
    expect(after.committed).to.deep.equal(first.committed);
    expect((await readStoreBlob(cache, b)).equals(b.bytes)).to.equal(true);
  });
});
