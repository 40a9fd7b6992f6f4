import { nativePath } from '../native-path.js';

/** The fsattr binary: `TSBUILD_FSATTR` when set, else worker/native/fsattr/tsbuild-fsattr of this checkout. */
export function fsattrPath(): string {
  return nativePath('worker/native/fsattr/tsbuild-fsattr', 'TSBUILD_FSATTR');
}
