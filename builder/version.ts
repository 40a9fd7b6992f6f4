/** The version `--version` prints (its own module so that `tsbuild --version` loads nothing else: main.ts). */
export const VERSION = '0.1.0';
