const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/**
 * A byte count as docker/go-units' BytesSize prints it, which buildx and BuildKit use wherever they show a size
 * (`inspect`'s GC policy, a compose shm_size, the RUN log clip line): binary units, at most 4 significant digits,
 * no trailing zeros: 2MiB, 200KiB, 9.313GiB.
 */
export function goBytesSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) { size /= 1024; i++; }
  return `${Number(size.toPrecision(4))}${BINARY_UNITS[i]}`;
}
