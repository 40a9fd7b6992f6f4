import { createHash, createPrivateKey } from 'node:crypto';
import { spendSteps } from './eval-budget.js';
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

const fromBase64Url = (s: string | undefined): bigint => BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`);

/**
 * OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS: the largest key its own RSA decryption takes. Larger ones cost minutes a
 * decryption here (a 65536-bit one from a 24 KB bake file did not finish).
 */
const MAX_MODULUS_BITS = 16384;

interface RsaKey { n: bigint; k: number; p: bigint; q: bigint; dp: bigint; dq: bigint; qi: bigint }

/**
 * The key's numbers, refused as Go's x509.ParsePKCS1PrivateKey refuses a key (it runs PrivateKey.Validate: the
 * primes' product is the modulus, and d inverts e modulo each prime less one); Node's OpenSSL parses any numbers.
 */
function privateKey(pem: string): RsaKey {
  let jwk: { kty?: string; n?: string; e?: string; d?: string; p?: string; q?: string; dp?: string; dq?: string; qi?: string };
  try {
    const key = createPrivateKey(pem);
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits > MAX_MODULUS_BITS) throw new ValueError(`failed to parse key: an RSA modulus of ${bits} bits is larger than the ${MAX_MODULUS_BITS} OpenSSL decrypts with`);
    jwk = key.export({ format: 'jwk' }) as typeof jwk;
  } catch (err) {
    if (err instanceof ValueError) throw err;
    throw new ValueError(`failed to parse key: ${(err as Error).message}`);
  }
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.d || !jwk.p || !jwk.q) throw new ValueError('failed to parse key: not an RSA private key');
  const k = Buffer.from(jwk.n, 'base64url').length;
  const [n, e, d, p, q] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q].map(fromBase64Url) as [bigint, bigint, bigint, bigint, bigint];
  if (p <= 1n || q <= 1n || p * q !== n || (d * e) % (p - 1n) !== 1n || (d * e) % (q - 1n) !== 1n) throw new ValueError('failed to parse key: crypto/rsa: invalid modulus or exponents');
  return { n, k, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qi: modInverse(q, p) };
}

/** a⁻¹ mod m by the extended Euclidean algorithm (0 when there is none: the decryption then fails as for a bad key). */
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [m, a % m, 0n, 1n];
  while (r1 !== 0n) {
    const quotient = r0 / r1;
    [r0, r1, t0, t1] = [r1, r0 - quotient * r1, t1, t0 - quotient * t1];
  }
  return r0 === 1n ? ((t0 % m) + m) % m : 0n;
}

/** c^d mod n through the Chinese remainder theorem, as Go's decrypt does: two exponentiations of half the size. */
function decrypt(c: bigint, key: RsaKey): bigint {
  const m1 = modPow(c, key.dp, key.p);
  const m2 = modPow(c, key.dq, key.q);
  const h = (((m1 - m2) % key.p) + key.p) % key.p * key.qi % key.p;
  return m2 + h * key.q;
}

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
  const key = privateKey(pem);
  const { n, k } = key;
  const c = BigInt(`0x${data.toString('hex') || '0'}`);
  if (data.length > k || c >= n) throw new ValueError('failed to decrypt: crypto/rsa: decryption error');
  // A private-key operation costs about the cube of the key's size: counted as evaluation steps (eval-budget.ts), so
  // a for expression of decryptions ends in the budget's error (a 4096-bit one takes ~50 ms, a million of them hours).
  spendSteps(20_000 + Math.ceil(((k * 8) / 1024) ** 3 * 2500), 'rsadecrypt()');
  const em = Buffer.from(decrypt(c, key).toString(16).padStart(k * 2, '0'), 'hex');
  // EM = 0x00 || 0x02 || PS (at least 8 non-zero bytes) || 0x00 || M
  const sep = em.indexOf(0, 2);
  if (em[0] !== 0 || em[1] !== 2 || sep < 10) throw new ValueError('failed to decrypt: crypto/rsa: decryption error');
  return em.subarray(sep + 1).toString('utf8');
}
