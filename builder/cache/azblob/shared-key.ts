import { createHmac } from 'node:crypto';

// Azure Storage's Shared Key authorization, written out here rather than taken from @azure/storage-blob: the SDK (and
// its core pipeline) would be bundled into the V8 start-up snapshot that every tsbuild command deserialises, for the
// four object calls the azblob cache makes. The s3 store made the same choice (aws4, not the AWS SDK). The rules are
// those of learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key ("Blob, Queue, and File services"),
// as the Go SDK BuildKit uses applies them (azblob/internal/exported/shared_key_credential.go).

/** A request as Shared Key signs it: its header names in lower case, `x-ms-date` and `x-ms-version` among them. */
export interface SharedKeyRequest { method: string; url: URL; headers: Record<string, string> }

/** The standard headers the string to sign holds, in its order, each on a line (empty when absent). */
const SIGNED_HEADERS = ['content-encoding', 'content-language', 'content-length', 'content-md5', 'content-type', 'date',
  'if-modified-since', 'if-match', 'if-none-match', 'if-unmodified-since', 'range'];

/** The `Authorization` value of `req`: `SharedKey ACCOUNT:` and the HMAC-SHA256, under the account key, of its string to sign. */
export function sharedKeyAuthorization(account: string, key: Buffer, req: SharedKeyRequest): string {
  const signature = createHmac('sha256', key).update(sharedKeyStringToSign(account, req), 'utf8').digest('base64');
  return `SharedKey ${account}:${signature}`;
}

/** The string Shared Key signs for `req` (version 2009-09-19 and later). */
export function sharedKeyStringToSign(account: string, req: SharedKeyRequest): string {
  const standard = SIGNED_HEADERS.map((name) => {
    const value = req.headers[name] ?? '';
    // Since version 2015-02-21 a zero Content-Length is signed as an empty line, as if it were absent.
    return name === 'content-length' && value === '0' ? '' : value;
  });
  return [req.method.toUpperCase(), ...standard, ''].join('\n') + canonicalizedHeaders(req.headers) + canonicalizedResource(account, req.url);
}

/** Every `x-ms-*` header as `name:value\n`, sorted by name, runs of white space in a value made one space. */
function canonicalizedHeaders(headers: Record<string, string>): string {
  return Object.keys(headers).filter((name) => name.startsWith('x-ms-')).sort()
    .map((name) => `${name}:${(headers[name] ?? '').replace(/\s+/g, ' ').trim()}\n`).join('');
}

/**
 * `/ACCOUNT` and the URL's path exactly as sent (percent-encoded): for a path-style URL (the emulator's
 * `http://127.0.0.1:10000/ACCOUNT/CONTAINER/BLOB`) the account appears twice, as the SDKs sign it. Then each query
 * parameter as `\nname:value`, names in lower case and sorted, a name's decoded values sorted and joined by commas.
 */
function canonicalizedResource(account: string, url: URL): string {
  const params = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) params.set(name.toLowerCase(), [...(params.get(name.toLowerCase()) ?? []), value]);
  const query = [...params.keys()].sort().map((name) => `\n${name}:${(params.get(name) ?? []).sort().join(',')}`).join('');
  return `/${account}${url.pathname || '/'}${query}`;
}
