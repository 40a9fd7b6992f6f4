import { UserError } from '../../common/index.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** Parses a size as docker's --keep-storage takes it (`512MB`, `10GB`, `1.5g`, bytes), binary multiples like docker. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = SIZE_UNITS[(m?.[2] ?? 'x').toLowerCase()];
  if (!m?.[1] || unit === undefined) throw new UserError('INVALID_ARGUMENT', `invalid size ${JSON.stringify(text)}`, 'e.g. 512MB or 10GB');
  return Math.round(Number(m[1]) * unit);
}

/** Parses a Go-style duration (`24h`, `90m`, `1h30m`, `10s`) to milliseconds. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let rest = text.trim();
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest);
    const unit = m?.[2] !== undefined ? units[m[2]] : undefined;
    if (!m?.[1] || unit === undefined) throw new UserError('INVALID_ARGUMENT', `invalid duration ${JSON.stringify(text)}`, 'e.g. 24h, 90m, 1h30m');
    total += Number(m[1]) * unit;
    rest = rest.slice(m[0].length);
  }
  if (total === 0) throw new UserError('INVALID_ARGUMENT', `invalid duration ${JSON.stringify(text)}`, 'e.g. 24h');
  return total;
}

/**
 * Formats bytes for humans (binary multiples, as docker): `512B`, `1.5kB`, `1.0MB`, `230MB`. A value that would
 * print as 1000 or more of a unit moves up one (1020 kB is `1.0MB`), so no exponent notation ever appears.
 */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Math.max(0, bytes);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1024; i++; }
  if (i === 0) return `${Math.round(v)}B`;
  return `${v >= 99.95 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`;
}
