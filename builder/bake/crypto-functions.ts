import { createHash, createPrivateKey } from 'node:crypto';
import { ValueError } from './value.js';

// uuidv5 and rsadecrypt as buildx has them from hashicorp/go-cty-funcs (uuid/uuid_v5.go on google/uuid,
// crypto/rsa_decrypt.go on Go's crypto/rsa).

const NAMESPACES: Record<string, string> = {
  dns: '6ba7b810-9dad-11d1-80b4-00c04fd430c8', url: '6ba7b811-9dad-11d1-80b4-00c04fd430c8',
  oid: '6ba7b812-9dad-11d1-80b4-00c04fd430c8', x500: '6ba7b814-9dad-11d1-80b4-00c04fd430c8',
};

/** google/uuid's Parse: the 36-character form, also in braces or as a urn:uuid:, or 32 hex digits. */
function parseUuid(text: string): Buffer {
  const s = text.replace(/^urn:uuid:/i, '').replace(/^\{(.*)\}$/, '$1');
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s) || /^[0-9a-f]{32}$/i.test(s)) return Buffer.from(s.replaceAll('-', ''), 'hex');
  throw new ValueError(`uuidv5() doesn't support namespace ${text} (invalid UUID length: ${text.length})`);
}

/** uuidv5: the SHA-1 name-based UUID of `name` in `namespace` (dns, url, oid, x500, or a UUID). */
export function uuidV5(namespace: string, name: string): string {
  const ns = parseUuid(NAMESPACES[namespace] ?? namespace);
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const fromBase64Url = (s: string): bigint => BigInt(`0x${Buffer.from(s, 'base64url').toString('hex') || '0'}`);

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

/**
 * rsadecrypt: RSA PKCS #1 v1.5 decryption of base64 `ciphertext` with a PEM private key. Node's OpenSSL refuses
 * PKCS #1 v1.5 decryption (the Marvin attack, CVE-2023-46809), so the key's numbers are used here directly, as Go's
 * rsa.DecryptPKCS1v15 does; bake files decrypt values their own authors encrypted, there is no oracle to attack.
 */
export function rsaDecrypt(ciphertext: string, pem: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(ciphertext.replace(/\s/g, ''))) throw new ValueError(`failed to decode input ${JSON.stringify(ciphertext)}: cipher text must be base64-encoded`);
  const data = Buffer.from(ciphertext, 'base64');
  let jwk: { kty?: string; n?: string; d?: string };
  try {
    jwk = createPrivateKey(pem).export({ format: 'jwk' }) as typeof jwk;
  } catch (err) {
    throw new ValueError(`failed to parse key: ${(err as Error).message}`);
  }
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.d) throw new ValueError('failed to parse key: not an RSA private key');
  const n = fromBase64Url(jwk.n);
  const k = Buffer.from(jwk.n, 'base64url').length;
  const c = BigInt(`0x${data.toString('hex') || '0'}`);
  if (data.length > k || c >= n) throw new ValueError('failed to decrypt: crypto/rsa: decryption error');
  const em = Buffer.from(modPow(c, fromBase64Url(jwk.d), n).toString(16).padStart(k * 2, '0'), 'hex');
  // EM = 0x00 || 0x02 || PS (at least 8 non-zero bytes) || 0x00 || M
  const sep = em.indexOf(0, 2);
  if (em[0] !== 0 || em[1] !== 2 || sep < 10) throw new ValueError('failed to decrypt: crypto/rsa: decryption error');
  return em.subarray(sep + 1).toString('utf8');
}
