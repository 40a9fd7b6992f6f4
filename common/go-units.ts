const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];
const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units' CustomSize("%.4g%s", bytes, base, units), which both sizes below are: 4 significant digits, no trailing zeros. */
function customSize(bytes: number, base: number, units: readonly string[]): string {
  let size = bytes;
  let i = 0;
  while (size >= base && i < units.length - 1) { size /= base; i++; }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

/**
 * A byte count as docker/go-units' BytesSize prints it, which buildx and BuildKit use wherever they show a size
 * (`inspect`'s GC policy, a compose shm_size, the RUN log clip line): binary units: 2MiB, 200KiB, 9.313GiB.
 */
export function goBytesSize(bytes: number): string {
  return customSize(bytes, 1024, BINARY_UNITS);
}

/**
 * A byte count as docker/go-units' HumanSize prints it, which `docker buildx du` and `prune` use for their tables:
 * decimal units: 1.056MB, 318MB, 8.224kB, 0B.
 */
export function goHumanSize(bytes: number): string {
  return customSize(bytes, 1000, DECIMAL_UNITS);
}

/** A duration (ms) as docker/go-units' HumanDuration says it: "Less than a second", "About a minute", "13 days"… */
export function goHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}
