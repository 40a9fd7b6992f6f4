import { expect } from 'chai';
import { request } from 'undici';
import { startRegistry, type RunningRegistry } from '../../test/fixtures/registry-server.js';
import { classify, startCountingProxy, type CountingProxy } from './counting-proxy.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('counting proxy', () => {
  it('names registry requests by their distribution-spec endpoint', () => {
    const table: [string, string, string][] = [
      ['GET', '/v2/', 'ping'],
      ['HEAD', '/v2/a/b/manifests/1', 'manifest-head'],
      ['PUT', '/v2/app/manifests/latest', 'manifest-put'],
      ['HEAD', `/v2/app/blobs/${DIGEST}`, 'blob-head'],
      ['GET', `/v2/app/blobs/${DIGEST}`, 'blob-get'],
      ['POST', '/v2/app/blobs/uploads/', 'upload-start'],
      ['POST', `/v2/app/blobs/uploads/?mount=${DIGEST}&from=base`, 'blob-mount'],
      ['PATCH', '/v2/app/blobs/uploads/0b1c-uuid?_state=x', 'upload-patch'],
      ['PUT', `/v2/app/blobs/uploads/0b1c-uuid?_state=x&digest=${DIGEST}`, 'upload-put'],
      ['GET', '/v2/app/tags/list', 'other'],
    ];
    for (const [method, path, kind] of table) expect(classify(method, path), `${method} ${path}`).to.equal(kind);
  });

  describe('in front of a real registry', () => {
    let registry: RunningRegistry;
    let proxy: CountingProxy;
    before(async () => {
      registry = await startRegistry();
      proxy = await startCountingProxy(registry.host);
    });
    after(async () => {
      await proxy.close();
      await registry.stop();
    });

    it('counts every request of a monolithic upload and the bytes of the blob it sent', async () => {
      const body = Buffer.from('hello, blob');
      const { createHash } = await import('node:crypto');
      const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      proxy.reset();
      const start = await request(`http://${proxy.host}/v2/app/blobs/uploads/`, { method: 'POST' });
      await start.body.dump();
      expect(start.statusCode).to.equal(202);
      const location = String(start.headers.location);
      expect(location).to.contain(proxy.host);
      const put = await request(`${location}&digest=${digest}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
      await put.body.dump();
      expect(put.statusCode).to.equal(201);
      const head = await request(`http://${proxy.host}/v2/app/blobs/${digest}`, { method: 'HEAD' });
      await head.body.dump();
      expect(head.statusCode).to.equal(200);
      const get = await request(`http://${proxy.host}/v2/app/blobs/${digest}`);
      expect(await get.body.text()).to.equal('hello, blob');
      const count = proxy.count();
      expect(count.requests).to.equal(4);
      expect(count.byKind).to.deep.equal({ 'upload-start': 1, 'upload-put': 1, 'blob-head': 1, 'blob-get': 1 });
      expect(count.blobBytesUp).to.equal(body.length);
      expect(count.blobBytesDown).to.equal(body.length);
    });
  });
});
