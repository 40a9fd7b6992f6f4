import { createPrivateKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { chmod, mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../common/index.js';

// `--ssh default=~/.ssh/id_ed25519` (buildx: `default|ID=KEY[,KEY]`): buildx loads the key files into an agent of its
// own (BuildKit's sshprovider, an in-memory keyring) and forwards that. tsbuild does the same: the keys are read
// once, by the user's own path, and answered for from a socket in a private temp dir that lives as long as the
// build. Everything downstream (RUN --mount=type=ssh's proxy, git's ssh) sees an agent socket, as with `--ssh
// ID=SOCKET`. The agent speaks the three messages a client needs (draft-miller-ssh-agent): list the identities, sign
// with one, and a failure for the rest (adding, removing, locking, extensions). Written here rather than taken from
// the ssh2 package: its agent module reads __dirname at load (it breaks in the ESM bundle) and pulls an optional
// native binding; Node's crypto does the signing either way.

/** A private key loaded from a file, and its public key in the SSH wire format. */
interface AgentKey { key: KeyObject; blob: Buffer; kind: 'ed25519' | 'rsa' | 'ecdsa'; curve?: string }

/** The agent: a socket path to forward, and `close` to stop answering and remove it. */
export interface KeyAgent { socket: string; close(): Promise<void> }

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
const FAILURE = 5;
const RSA_SHA2_256 = 2;
const RSA_SHA2_512 = 4;
/** A key file larger than this is not a key (BuildKit reads at most 100 KiB too). */
const MAX_KEY_FILE = 100 * 1024;
/** An agent message larger than this is refused: a sign request carries a session's data, a few KiB. */
const MAX_MESSAGE = 256 * 1024;

const CURVES: Record<string, { jwk: string; hash: string; size: number }> = {
  nistp256: { jwk: 'P-256', hash: 'sha256', size: 32 },
  nistp384: { jwk: 'P-384', hash: 'sha384', size: 48 },
  nistp521: { jwk: 'P-521', hash: 'sha512', size: 66 },
};
const CURVE_OF_JWK: Record<string, string> = { 'P-256': 'nistp256', 'P-384': 'nistp384', 'P-521': 'nistp521' };

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const str = (b: Buffer | string): Buffer => { const v = typeof b === 'string' ? Buffer.from(b) : b; return Buffer.concat([u32(v.length), v]); };
/** An unsigned big-endian integer as an SSH mpint: no leading zeros, one zero byte before a high bit. */
const mpint = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  const v = b.subarray(i);
  return str(v.length > 0 && (v[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
const b64url = (b: Buffer): string => b.toString('base64url');
const fromB64url = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');

/** Reads SSH wire-format fields from a buffer; a short buffer throws (the caller answers FAILURE or names the file). */
class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer) {}
  u32(): number {
    if (this.#at + 4 > this.buf.length) throw new Error('truncated');
    const n = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    return n;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.#at + n > this.buf.length) throw new Error('truncated');
    const v = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  text(): string { return this.bytes().toString('latin1'); }
}

/** The public key blob of a private key, from its JWK form (one path for OpenSSH and PEM files). */
function publicBlob(key: KeyObject): Pick<AgentKey, 'blob' | 'kind' | 'curve'> {
  const jwk = key.export({ format: 'jwk' }) as JsonWebKey;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return { kind: 'ed25519', blob: Buffer.concat([str('ssh-ed25519'), str(fromB64url(jwk.x))]) };
  if (jwk.kty === 'RSA') return { kind: 'rsa', blob: Buffer.concat([str('ssh-rsa'), mpint(fromB64url(jwk.e)), mpint(fromB64url(jwk.n))]) };
  const curve = jwk.kty === 'EC' ? CURVE_OF_JWK[jwk.crv ?? ''] : undefined;
  if (curve !== undefined) {
    const point = Buffer.concat([Buffer.from([4]), fromB64url(jwk.x), fromB64url(jwk.y)]);
    return { kind: 'ecdsa', curve, blob: Buffer.concat([str(`ecdsa-sha2-${curve}`), str(curve), str(point)]) };
  }
  throw new Error(`an unsupported key type (${jwk.kty ?? '?'} ${jwk.crv ?? ''})`);
}

const bigOf = (b: Buffer): bigint => (b.length === 0 ? 0n : BigInt(`0x${b.toString('hex')}`));
const bufOf = (n: bigint): Buffer => { const hex = n.toString(16); return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'); };
const padTo = (b: Buffer, size: number): Buffer => (b.length >= size ? b.subarray(b.length - size) : Buffer.concat([Buffer.alloc(size - b.length), b]));

/** An `openssh-key-v1` file (OpenSSH's PROTOCOL.key): the one private key in it, unencrypted. */
function opensshKey(body: Buffer): KeyObject {
  const magic = Buffer.from('openssh-key-v1\0');
  if (!body.subarray(0, magic.length).equals(magic)) throw new Error('not an openssh-key-v1 file');
  const r = new Reader(body.subarray(magic.length));
  const cipher = r.text();
  r.text();   // kdf name
  r.bytes();  // kdf options
  if (cipher !== 'none') throw new UserError('INVALID_ARGUMENT', 'the key is passphrase-protected', 'load it into an agent (ssh-add KEY) and pass --ssh default=$SSH_AUTH_SOCK, as buildx cannot read one either');
  if (r.u32() !== 1) throw new Error('a file of several keys');
  r.bytes();  // the public key, derived again from the private one below
  const p = new Reader(r.bytes());
  if (p.u32() !== p.u32()) throw new Error('the check numbers differ');
  const type = p.text();
  let jwk: JsonWebKey;
  if (type === 'ssh-ed25519') {
    const pub = p.bytes();
    const priv = p.bytes();
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(pub), d: b64url(priv.subarray(0, 32)) };
  } else if (type === 'ssh-rsa') {
    const [n, e, d, iqmp, pp, q] = [p.bytes(), p.bytes(), p.bytes(), p.bytes(), p.bytes(), p.bytes()];
    const dBig = bigOf(d);
    jwk = {
      kty: 'RSA', n: b64url(bufOf(bigOf(n))), e: b64url(bufOf(bigOf(e))), d: b64url(bufOf(dBig)), p: b64url(bufOf(bigOf(pp))), q: b64url(bufOf(bigOf(q))),
      dp: b64url(bufOf(dBig % (bigOf(pp) - 1n))), dq: b64url(bufOf(dBig % (bigOf(q) - 1n))), qi: b64url(bufOf(bigOf(iqmp))),
    };
  } else if (type.startsWith('ecdsa-sha2-')) {
    const curve = CURVES[p.text()];
    const point = p.bytes();
    const d = p.bytes();
    if (!curve || point[0] !== 4) throw new Error(`an unsupported curve in ${type}`);
    const half = (point.length - 1) / 2;
    jwk = { kty: 'EC', crv: curve.jwk, x: b64url(point.subarray(1, 1 + half)), y: b64url(point.subarray(1 + half)), d: b64url(padTo(bufOf(bigOf(d)), curve.size)) };
  } else {
    throw new Error(`an unsupported key type ${type}`);
  }
  return createPrivateKey({ key: jwk, format: 'jwk' });   // the comment after it is never listed (loadKeyFile)
}

/** Loads one key file as buildx does (an OpenSSH or PEM private key, without a passphrase); errors name the file. */
export async function loadKeyFile(path: string): Promise<AgentKey> {
  let text: string;
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new UserError('INVALID_ARGUMENT', `--ssh: cannot read the key file ${path}: ${err.code ?? err.message}`, 'name a private key file (e.g. ~/.ssh/id_ed25519) or an agent socket', { cause: err });
  });
  try {
    const buf = Buffer.alloc(MAX_KEY_FILE + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_KEY_FILE) throw new UserError('INVALID_ARGUMENT', `--ssh: ${path} is larger than a key file (over 100 KiB)`, 'name a private key file or an agent socket');
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
  try {
    const pem = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
    // No comment is listed, as BuildKit's sshprovider adds keys without one: a key's comment (user@host) and the
    // file's host path are nothing a RUN step should learn.
    const key = pem ? opensshKey(Buffer.from(pem[1] ?? '', 'base64')) : createPrivateKey(text);
    return { key, ...publicBlob(key) };
  } catch (err) {
    if (err instanceof UserError) throw new UserError(err.code, `--ssh: ${path}: ${err.message}`, err.hint, { cause: err });
    const passphrase = (err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE';
    throw new UserError('INVALID_ARGUMENT', `--ssh: cannot read ${path} as a private key: ${passphrase ? 'it is passphrase-protected' : (err as Error).message}`,
      passphrase ? 'load it into an agent (ssh-add KEY) and pass --ssh default=$SSH_AUTH_SOCK' : 'name an OpenSSH or PEM private key (ed25519, RSA, ECDSA) or an agent socket', { cause: err });
  }
}

/** The signature an agent returns for `data`: the algorithm's name, then its blob (RFC 4253 §6.6, RFC 8332, RFC 5656). */
function signWith(k: AgentKey, data: Buffer, flags: number): Buffer {
  if (k.kind === 'ed25519') return Buffer.concat([str('ssh-ed25519'), str(sign(null, data, k.key))]);
  if (k.kind === 'rsa') {
    const [name, hash] = flags & RSA_SHA2_512 ? ['rsa-sha2-512', 'sha512'] : flags & RSA_SHA2_256 ? ['rsa-sha2-256', 'sha256'] : ['ssh-rsa', 'sha1'];
    return Buffer.concat([str(name ?? ''), str(sign(hash ?? '', data, k.key))]);
  }
  const curve = CURVES[k.curve ?? ''];
  if (!curve) throw new Error('no curve');
  const raw = sign(curve.hash, data, { key: k.key, dsaEncoding: 'ieee-p1363' });
  const blob = Buffer.concat([mpint(raw.subarray(0, raw.length / 2)), mpint(raw.subarray(raw.length / 2))]);
  return Buffer.concat([str(`ecdsa-sha2-${k.curve ?? ''}`), str(blob)]);
}

/** The answer to one agent message (its type byte and payload). */
function answer(keys: AgentKey[], type: number, payload: Buffer): Buffer {
  if (type === REQUEST_IDENTITIES) return Buffer.concat([Buffer.from([IDENTITIES_ANSWER]), u32(keys.length), ...keys.flatMap((k) => [str(k.blob), str('')])]);
  if (type !== SIGN_REQUEST) return Buffer.from([FAILURE]);
  try {
    const r = new Reader(payload);
    const blob = r.bytes();
    const data = r.bytes();
    const flags = r.u32();
    const k = keys.find((c) => c.blob.equals(blob));
    return k ? Buffer.concat([Buffer.from([SIGN_RESPONSE]), str(signWith(k, data, flags))]) : Buffer.from([FAILURE]);
  } catch {
    return Buffer.from([FAILURE]);
  }
}

/**
 * Answers a connection's messages in order. A client that sends and never reads is not read from either: once the
 * socket holds replies it has not taken, reading stops until it drains, as x/crypto's ServeAgent (BuildKit's) writes
 * each reply before reading the next. Before, a RUN step flooding requests grew tsbuild's heap without bound (5 MB
 * of requests, 577 MB).
 */
function serve(keys: AgentKey[], conn: Socket): void {
  let pending: Buffer = Buffer.alloc(0);
  conn.on('error', () => conn.destroy());
  const work = (): void => {
    while (pending.length >= 4) {
      const n = pending.readUInt32BE(0);
      if (n === 0 || n > MAX_MESSAGE) { conn.destroy(); return; }
      if (pending.length < 4 + n) return;
      const reply = answer(keys, pending[4] ?? 0, pending.subarray(5, 4 + n));
      pending = pending.subarray(4 + n);
      if (!conn.write(Buffer.concat([u32(reply.length), reply]))) {
        conn.pause();
        conn.once('drain', () => { conn.resume(); work(); });
        return;
      }
    }
  };
  conn.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (!conn.isPaused()) work();
  });
}

/** Loads `paths` (key files) and answers for them on a new socket, in a temp dir only this user can enter. */
export async function startKeyAgent(paths: string[]): Promise<KeyAgent> {
  const keys: AgentKey[] = [];
  for (const path of paths) keys.push(await loadKeyFile(path));
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-sshkeys-'));
  const socket = join(dir, 'agent.sock');
  const conns = new Set<Socket>();
  const server: Server = createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    serve(keys, conn);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => { server.off('error', reject); resolve(); });
    });
    await chmod(socket, 0o600);
  } catch (err) {
    server.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  // A build that fails before its clean-up must not be kept alive by the agent.
  server.unref();
  return {
    socket,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What `--ssh` forwards, by id: an agent's socket, or key files tsbuild answers for (parseSsh). */
export type SshSource = { socket: string } | { keys: string[] };

/** The agents of a build: a socket for every id (key files get an agent of their own), and `close` for them all. */
export async function openSshAgents(sources: Record<string, SshSource>): Promise<{ sockets: Record<string, string>; close(): Promise<void> }> {
  const sockets: Record<string, string> = {};
  const started: KeyAgent[] = [];
  const close = async () => { for (const a of started.splice(0)) await a.close(); };
  try {
    for (const [id, source] of Object.entries(sources)) {
      if ('socket' in source) {
        sockets[id] = source.socket;
        continue;
      }
      const agent = await startKeyAgent(source.keys);
      started.push(agent);
      sockets[id] = agent.socket;
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { sockets, close };
}
