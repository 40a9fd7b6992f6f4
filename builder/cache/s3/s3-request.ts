import aws4 from 'aws4';
import type { S3Location } from './s3-cache.js';

// How the s3 cache speaks S3's REST API without the AWS SDK: requests signed with Signature Version 4 by aws4 (the
// signer the AWS JavaScript SDK v2 used, for the handful of object calls the cache makes, where the whole SDK would
// weigh on every command's start-up snapshot), and the few values read out of S3's XML answers.

/**
 * The URL and signed headers of an S3 object request: virtual-hosted (`BUCKET.s3.REGION.amazonaws.com/KEY`) unless
 * path style, each key segment percent-encoded as S3 canonicalises it (aws4 encodes the path it signs the same way),
 * and `query` (`uploads`, `partNumber`+`uploadId` …: a subresource, an empty value written as a bare name).
 */
export function signS3Request(at: S3Location, method: string, key: string, headers: Record<string, string>, opts: { query?: Record<string, string>; date?: Date } = {}): { url: string; signed: Record<string, string> } {
  const endpoint = new URL(at.endpoint ?? `https://s3.${at.region}.amazonaws.com`);
  const host = at.pathStyle ? endpoint.host : `${at.bucket}.${endpoint.host}`;
  const encodedKey = key.split('/').map(encodeRfc3986).join('/');
  const base = endpoint.pathname.replace(/\/+$/, '');
  const query = Object.entries(opts.query ?? {}).map(([k, v]) => (v === '' ? encodeRfc3986(k) : `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)).join('&');
  const path = `${base}${at.pathStyle ? `/${encodeRfc3986(at.bucket)}` : ''}/${encodedKey}${query ? `?${query}` : ''}`;
  const { date } = opts;
  const req: aws4.Request = {
    host, path, method, service: 's3', region: at.region, doNotEncodePath: true,
    headers: { ...headers, ...(headers['x-amz-content-sha256'] === undefined ? { 'x-amz-content-sha256': EMPTY_SHA256 } : {}), ...(date ? { 'X-Amz-Date': amzDate(date) } : {}) },
  };
  aws4.sign(req, { accessKeyId: at.credentials.accessKeyId, secretAccessKey: at.credentials.secretAccessKey, ...(at.credentials.sessionToken ? { sessionToken: at.credentials.sessionToken } : {}) });
  const signed: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined && k.toLowerCase() !== 'host') signed[k] = String(v);
  return { url: `${endpoint.protocol}//${host}${path}`, signed };
}

/** The sha256 of no bytes: the payload hash of a GET, a HEAD, a DELETE. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 unreserved characters kept, everything else percent-encoded, as SigV4 wants a path segment. */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/** The text of the first `<tag>` of an S3 XML answer, its entities decoded (an ETag comes as `&quot;…&quot;`); '' when absent. */
export function s3XmlText(xml: string, tag: string): string {
  const text = new RegExp(`<${tag}>([^<]{0,1024})</${tag}>`).exec(xml)?.[1] ?? '';
  return text.replace(/&(quot|amp|lt|gt|apos|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g, (_m, name: string, dec?: string, hex?: string) => {
    if (dec !== undefined) return String.fromCodePoint(Number(dec));
    if (hex !== undefined) return String.fromCodePoint(parseInt(hex, 16));
    return { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }[name] ?? '';
  });
}

/** `<Code>NoSuchBucket</Code>` of an S3 error body; '' when there is none. */
export function s3ErrorCode(xml: string): string {
  return s3XmlText(xml, 'Code').slice(0, 64);
}

/** The body of a CompleteMultipartUpload: each part's number and the ETag its UploadPart (or UploadPartCopy) answered. */
export function completeMultipartXml(etags: readonly string[]): string {
  const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escape(etag)}</ETag></Part>`).join('');
  return `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts}</CompleteMultipartUpload>`;
}
