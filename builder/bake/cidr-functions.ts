import { isIPv4, isIPv6 } from 'node:net';
import { ValueError } from './value.js';

// cidrhost, cidrnetmask, cidrsubnet and cidrsubnets, as buildx has them from hashicorp/go-cty-funcs (cidr/*.go) on
// apparentlymart/go-cidr: Go's net.ParseCIDR (the address masked to its network), addresses as big integers, and
// Go's net.IP.String for the result (IPv6 with its longest run of zero groups as "::").

interface Network { ip: bigint; prefix: number; bits: 32 | 128 }

function parseIPv6(text: string): bigint {
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const n = parseIPv4(v4[1]);
    s = `${s.slice(0, v4.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

const parseIPv4 = (text: string): bigint => text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);

/** net.ParseCIDR, with the error go-cty-funcs wraps. */
function parseCidr(text: string): Network {
  const slash = text.indexOf('/');
  const addr = text.slice(0, slash);
  const len = text.slice(slash + 1);
  const bits = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : 0;
  if (slash < 0 || bits === 0 || !/^\d+$/.test(len) || Number(len) > bits) throw new ValueError(`invalid CIDR expression: invalid CIDR address: ${text}`);
  const prefix = Number(len);
  const ip = bits === 32 ? parseIPv4(addr) : parseIPv6(addr);
  return { ip: ip & mask(prefix, bits), prefix, bits };
}

const mask = (prefix: number, bits: number): bigint => ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);

/** net.IP.String. */
function ipText(ip: bigint, bits: number): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => String((ip >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups, the first of equals, becomes "::" (RFC 5952, as Go writes it).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const networkText = (n: Network): string => `${ipText(n.ip, n.bits)}/${n.prefix}`;

/** An integer argument, as gocty reads a cty number into an int. */
function int(n: number, what: string): number {
  if (!Number.isInteger(n)) throw new ValueError(`${what}: value must be a whole number, between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** cidrhost: host number `num` (from the end when negative) of the network. */
export function cidrHost(prefix: string, num: number): string {
  const n = parseCidr(prefix);
  const hostNum = int(num, 'hostnum');
  const maxHost = (1n << BigInt(n.bits - n.prefix)) - 1n;
  const wanted = BigInt(hostNum);
  const magnitude = wanted < 0n ? -wanted - 1n : wanted;
  if (magnitude > maxHost) throw new ValueError(`prefix of ${n.prefix} does not accommodate a host numbered ${hostNum}`);
  return ipText(n.ip | (wanted < 0n ? maxHost - magnitude : wanted), n.bits);
}

/** cidrnetmask: the network's mask as an address (Go prints an IPv6 mask as hexadecimal, net.IPMask.String). */
export function cidrNetmask(prefix: string): string {
  const n = parseCidr(prefix);
  const m = mask(n.prefix, n.bits);
  return n.bits === 32 ? ipText(m, 32) : m.toString(16).padStart(32, '0');
}

function subnet(n: Network, newBits: number, num: number): Network {
  const prefix = n.prefix + newBits;
  if (prefix > n.bits) throw new ValueError(`insufficient address space to extend prefix of ${n.prefix} by ${newBits}`);
  if (BigInt(num) < 0n || BigInt(num) > (1n << BigInt(newBits)) - 1n) throw new ValueError(`prefix extension of ${newBits} does not accommodate a subnet numbered ${num}`);
  return { ip: n.ip | (BigInt(num) << BigInt(n.bits - prefix)), prefix, bits: n.bits };
}

/** cidrsubnet: subnet `netnum` of the network extended by `newbits`. */
export function cidrSubnet(prefix: string, newbits: number, netnum: number): string {
  const n = parseCidr(prefix);
  const bits = int(newbits, 'newbits');
  if (bits > 32) throw new ValueError('may not extend prefix by more than 32 bits');
  return networkText(subnet(n, bits, int(netnum, 'netnum')));
}

/** cidrsubnets: consecutive subnets of the given extensions, each aligned to its own size (go-cidr NextSubnet). */
export function cidrSubnets(prefix: string, newbits: number[]): string[] {
  const n = parseCidr(prefix);
  const size = (p: number): bigint => 1n << BigInt(n.bits - p);
  let next = n.ip;
  let previous = networkText(n);
  return newbits.map((b, i) => {
    const bits = int(b, 'newbits');
    if (bits < 1) throw new ValueError(`argument ${i + 2}: must extend prefix by at least one bit`);
    if (bits > 32) throw new ValueError(`argument ${i + 2}: may not extend prefix by more than 32 bits`);
    const p = n.prefix + bits;
    if (p > n.bits) throw new ValueError(`argument ${i + 2}: would extend prefix to ${p} bits, which is too long for an ${n.bits === 32 ? 'IPv4' : 'IPv6'} address`);
    // The next free address, rounded up to a boundary of this subnet's size.
    const start = ((next + size(p) - 1n) / size(p)) * size(p);
    const end = n.ip + size(n.prefix);
    if (start + size(p) > end) throw new ValueError(`argument ${i + 2}: not enough remaining address space for a subnet with a prefix of ${p} bits after ${previous}`);
    next = start + size(p);
    previous = `${ipText(start, n.bits)}/${p}`;
    return previous;
  });
}
