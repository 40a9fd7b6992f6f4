// STOPSIGNAL's value as BuildKit checks it (moby/sys/signal ParseSignal): a non-zero number, or a Linux signal name
// with or without SIG in any case. The image keeps the value as written.

const NAMES = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF',
  'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2',
  'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** True when ParseSignal accepts `value`. */
export function isStopSignal(value: string): boolean {
  if (/^[+-]?\d+$/.test(value)) return Number(value) !== 0 && Number.isSafeInteger(Number(value));
  const upper = value.toUpperCase();
  return NAMES.has(upper.startsWith('SIG') ? upper.slice(3) : upper);
}
