import { expect } from 'chai';
import { sharedKeyAuthorization, sharedKeyStringToSign } from './shared-key.js';

// Microsoft documents the string to sign with worked examples, never a signature with a key it publishes: the HMAC
// over that string is checked by Azurite, which recomputes it with the account key and refuses a mismatch
// (test/integration/azblob-cache.test.ts, where a wrong key is a 403).
describe('Azure Storage Shared Key signing', () => {
  const date = 'Fri, 26 Jun 2015 23:39:12 GMT';

  it('builds the string to sign of Microsoft\'s Get Container Metadata example, byte for byte', () => {
    // learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key, "Constructing the signature string".
    const url = new URL('https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata&timeout=20');
    expect(sharedKeyStringToSign('myaccount', { method: 'GET', url, headers: { 'x-ms-date': date, 'x-ms-version': '2015-02-21' } }))
      .to.equal('GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2015-02-21\n/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20');
  });

  it('canonicalizes a repeated query parameter as the same page\'s List Blobs example (values sorted, joined by commas)', () => {
    const url = new URL('https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs');
    expect(sharedKeyStringToSign('myaccount', { method: 'GET', url, headers: {} }).split('\n').slice(12).join('\n'))
      .to.equal('/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container');
  });

  it('signs a Put Blob\'s standard headers in their places, a zero Content-Length as empty, and the path as sent', () => {
    const url = new URL('http://127.0.0.1:10000/devstoreaccount1/cache/ci%2Fblobs%2Fsha256%3Aab');
    const put = sharedKeyStringToSign('devstoreaccount1', {
      method: 'PUT', url,
      headers: { 'content-length': '12', 'content-type': 'application/octet-stream', 'content-md5': 'bWQ1', 'if-none-match': '*', 'x-ms-version': '2021-08-06', 'x-ms-date': date, 'x-ms-blob-type': 'BlockBlob' },
    });
    expect(put).to.equal('PUT\n\n\n12\nbWQ1\napplication/octet-stream\n\n\n\n*\n\n\n'
      + 'x-ms-blob-type:BlockBlob\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2021-08-06\n'
      + '/devstoreaccount1/devstoreaccount1/cache/ci%2Fblobs%2Fsha256%3Aab');
    const create = sharedKeyStringToSign('a', { method: 'PUT', url: new URL('https://a.blob.core.windows.net/c?restype=container'), headers: { 'content-length': '0' } });
    expect(create).to.equal('PUT\n\n\n\n\n\n\n\n\n\n\n\n/a/c\nrestype:container');
  });

  it('is "SharedKey ACCOUNT:" and a base64 HMAC-SHA256 that changes with the key', () => {
    const req = { method: 'HEAD', url: new URL('https://a.blob.core.windows.net/c/b'), headers: { 'x-ms-date': date } };
    const one = sharedKeyAuthorization('a', Buffer.from('key one'), req);
    expect(one).to.match(/^SharedKey a:[A-Za-z0-9+/]{43}=$/);
    expect(sharedKeyAuthorization('a', Buffer.from('key two'), req)).not.to.equal(one);
  });
});
