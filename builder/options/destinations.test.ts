import { expect } from 'chai';
import { isTsbuildError } from '../../common/index.js';
import { destinationFailure } from './destinations.js';

describe('destinationFailure', () => {
  const errno = (code: string, syscall: string, path?: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: failed, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, ...(path ? { path } : {}) });

  it('names the flag for the destination\'s own failures: a write, the file, a parent, a temp file beside it', () => {
    for (const err of [errno('ENOSPC', 'write'), errno('EACCES', 'open', '/out/img.tar'), errno('ENOENT', 'mkdir', '/out'),
      errno('EROFS', 'open', '/out/img.tar.tsbuild-tmp-12'), errno('EIO', 'open', '/out/img.tar/blobs/sha256/ab')]) {
      const made = destinationFailure(err, '-o type=oci,dest=/out/img.tar', '/out/img.tar');
      expect(isTsbuildError(made) && made.code, err.message).to.equal('OUTPUT_FAILED');
      expect((made as Error).message).to.equal(`-o type=oci,dest=/out/img.tar: writing failed: ${err.message}`);
    }
  });

  it('leaves alone what is not about the destination: another path, a non-errno error, an abort', () => {
    const store = errno('EIO', 'open', '/var/lib/tsbuild/content/blobs/sha256/ab');
    expect(destinationFailure(store, '-o type=oci,dest=/out/img.tar', '/out/img.tar')).to.equal(store);
    const bug = new TypeError('x is undefined');
    expect(destinationFailure(bug, '--iidfile f', 'f')).to.equal(bug);
    const aborted = new AbortController();
    aborted.abort();
    const write = errno('ENOSPC', 'write');
    expect(destinationFailure(write, '--iidfile f', 'f', aborted.signal)).to.equal(write);
  });
});
