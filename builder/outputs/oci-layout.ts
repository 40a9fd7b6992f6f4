import { createWriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { MediaType, canonicalJson, type Descriptor, type ImageIndex } from '../../registry/oci/index.js';
import { formatReference, parseReference } from '../../registry/index.js';
import type { AssembledImage } from '../image/assemble.js';
import type { AssembledIndex } from '../multi-platform.js';
import { checkFileDest, checkLayoutDir } from '../options/destinations.js';
import { replaceWithNew } from './place-file.js';
import { copy, LAYOUT_FILE, layoutBlobPath, OciLayoutDir, storeBlobDamaged, type BlobProvider } from '../content/index.js';
import { fileChunks, goRfc3339, UserError } from '../../common/index.js';
import { encodeTarHeader, SpliceSizeError, spliceFiles, TAR_END, tarPadding, type SplicePart } from '../../worker/index.js';

/** Where and how to write an OCI image layout (image-spec image-layout.md). */
export interface OciLayoutTarget {
  dest: string;
  /** false: a layout directory (`-o type=oci,dest=dir,tar=false`); true: a tarball of one, as buildx writes. */
  tar: boolean;
  /** Image names to record as `org.opencontainers.image.ref.name` / `io.containerd.image.name` annotations. */
  names: string[];
  /**
   * Also write docker's `manifest.json` (the `docker save` format since Docker 25: an OCI layout plus manifest.json
   * pointing into blobs/), so `docker load`, `podman load` and `skopeo docker-archive:` read the same tarball.
   */
  dockerManifest?: boolean;
  /**
   * Annotations of the image's entry in index.json: `annotation-manifest-descriptor.*` and the
   * `org.opencontainers.image.created` the caller stamps (layoutDescriptorAnnotations).
   */
  descriptorAnnotations?: Record<string, string>;
}

const CREATED = 'org.opencontainers.image.created';

/**
 * The annotations of a layout's entry as BuildKit's oci and docker exporters write them (exporter/oci/export.go): the
 * `annotation-manifest-descriptor.*` ones, and `org.opencontainers.image.created` (SOURCE_DATE_EPOCH, else the export
 * time, RFC 3339 in seconds) unless those name it. `--metadata-file` reports the same descriptor.
 */
export function layoutDescriptorAnnotations(asked: Record<string, string> | undefined, sourceDateEpoch: number | undefined): Record<string, string> {
  const at = sourceDateEpoch !== undefined ? sourceDateEpoch * 1000 : Date.now();
  return { [CREATED]: goRfc3339(at), ...(asked ?? {}) };
}

/** Every blob of `image` in layout order: layers, config, manifest (each platform's, then the image index). */
function blobsOf(image: AssembledImage | AssembledIndex): Descriptor[] {
  if ('images' in image) return [...[...image.images, ...(image.attestations ?? [])].flatMap(blobsOf), image.indexDescriptor];
  return [...image.manifest.layers, image.configDescriptor, image.manifestDescriptor];
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * index.json's entries for `image`: one per name, as BuildKit's oci exporter writes them (exporter/oci/export.go
 * normalizedNames, then containerd's archive exporter WithManifest(desc, names...)): io.containerd.image.name is the
 * normalized name with its tag (`org/repo:tag1` → `docker.io/org/repo:tag1`, `app` → `docker.io/library/app:latest`),
 * ref.name the part after the repository (ociReferenceName: `tag1`). No name: one entry without them.
 */
function layoutEntries(image: AssembledImage | AssembledIndex, target: OciLayoutTarget): Descriptor[] {
  // A multi-platform image is one entry too, the image index, as buildx writes it.
  const { platform: _platform, annotations: _old, ...desc } = 'images' in image ? image.indexDescriptor : image.manifestDescriptor;
  const base = target.descriptorAnnotations ?? {};
  if (target.names.length === 0) return [{ ...desc, ...(Object.keys(base).length ? { annotations: { ...base } } : {}) }];
  return target.names.map((name) => {
    const ref = parseReference(name);
    const object = `${ref.tag ?? ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
    return { ...desc, annotations: { ...base, 'io.containerd.image.name': formatReference(ref), [REF_NAME]: object } };
  });
}

function layoutIndex(entries: Descriptor[], annotations: Record<string, string> | undefined): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: entries,
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
}

/**
 * Writes `image` as an OCI layout, streaming every blob from `blobs`. A tarball appears only when complete (`-`:
 * standard output). A directory that already holds a layout is added to, as buildx does: missing blobs written,
 * then index.json rewritten with the new manifest (replacing an entry of the same ref name); a directory holding
 * anything else is refused, never replaced.
 */
export async function writeOciLayout(image: AssembledImage | AssembledIndex, blobs: BlobProvider, target: OciLayoutTarget, signal?: AbortSignal): Promise<void> {
  const layoutFile = Buffer.from(LAYOUT_FILE);
  const entries = layoutEntries(image, target);
  if (!target.tar) {
    if (target.dest === '-') throw new UserError('INVALID_ARGUMENT', 'a layout directory cannot go to standard output (dest=-)', 'drop tar=false, or name a directory');
    await checkLayoutDir(target.dest, 'OCI layout output');
    await addToLayoutDir(new OciLayoutDir(target.dest), image, blobs, entries, signal);
    return;
  }
  const index = Buffer.from(canonicalJson(layoutIndex(entries, undefined)));
  if (target.dockerManifest && 'images' in image) throw new Error('a docker archive holds one platform: the CLI checks this before building');
  const extra = target.dockerManifest && !('images' in image) ? dockerManifestJson(image, target.names) : undefined;
  const files = tarFiles(image, index, layoutFile, extra);
  if (target.dest === '-') {
    await writeTarStream(process.stdout, files, blobs, signal, false);
    return;
  }
  if ((await checkFileDest(target.dest, 'image output')) === 'special') {
    // dest=/dev/null, a named pipe: written into as buildx writes it; a rename over it would replace the device.
    await writeTarStream(createWriteStream(target.dest), files, blobs, signal);
    return;
  }
  await replaceWithNew(target.dest, (tmp) => writeTarFile(tmp, files, blobs, signal));
}

/**
 * Adds `image` to a layout directory: its blobs copied (those already there skipped), then index.json rewritten
 * with the new entries last, replacing an entry of one of the same image names or the same digest and annotations.
 */
async function addToLayoutDir(layout: OciLayoutDir, image: AssembledImage | AssembledIndex, blobs: BlobProvider, entries: Descriptor[], signal?: AbortSignal) {
  await layout.readIndex();   // refuse a broken index.json before writing any blob
  await copy(blobs, layout, blobsOf(image), { signal });
  const names = new Set(entries.flatMap((e) => e.annotations?.['io.containerd.image.name'] ?? []));
  const sameAs = (m: Descriptor): boolean => entries.some((e) => m.digest === e.digest && canonicalJson(m.annotations ?? {}) === canonicalJson(e.annotations ?? {}));
  await layout.updateIndex((previous) => {
    const kept = (previous?.manifests ?? []).filter((m) => !sameAs(m) && !names.has(m.annotations?.['io.containerd.image.name'] ?? ''));
    return layoutIndex([...kept, ...entries], previous?.annotations);
  });
}

function dockerManifestJson(image: AssembledImage, names: string[]): Buffer {
  const blob = (d: Descriptor) => layoutBlobPath(d.digest);
  const repoTags = names.map((n) => (/:[^/]+$/.test(n.split('@')[0] ?? '') ? n : `${n}:latest`));
  return Buffer.from(JSON.stringify([{ Config: blob(image.configDescriptor), RepoTags: repoTags, Layers: image.manifest.layers.map(blob) }]));
}

/** One file of the tarball: its name and size, and its bytes or the blob they come from. */
interface TarFile { name: string; size: number; body: Buffer | Descriptor }

/** The tarball's files in order: `oci-layout`, every blob once (a layer can repeat), `index.json`, `manifest.json`. */
function tarFiles(image: AssembledImage | AssembledIndex, index: Buffer, layoutFile: Buffer, dockerManifest?: Buffer): TarFile[] {
  const files: TarFile[] = [{ name: 'oci-layout', size: layoutFile.length, body: layoutFile }];
  const seen = new Set<string>();
  for (const desc of blobsOf(image)) {
    if (seen.has(desc.digest)) continue;
    seen.add(desc.digest);
    files.push({ name: layoutBlobPath(desc.digest), size: desc.size, body: desc });
  }
  files.push({ name: 'index.json', size: index.length, body: index });
  if (dockerManifest) files.push({ name: 'manifest.json', size: dockerManifest.length, body: dockerManifest });
  return files;
}

const tarHeader = (f: TarFile): Buffer => encodeTarHeader({ name: f.name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: f.size });

function sizeMismatch(f: TarFile, read: number, more: boolean): UserError {
  return new UserError('DIGEST_MISMATCH', `${f.name}: read ${more ? `more than ${f.size}` : read} bytes of a blob whose descriptor says ${f.size}`, 'the blob is damaged where it was read from: build the image again (or prune, then build)');
}

/**
 * The chunks of `body`, which must be exactly `f.size` bytes: a blob read from somewhere that holds more or fewer is
 * damaged there (DIGEST_MISMATCH), and what it holds beyond its size is never written.
 */
async function* sizedBody(f: TarFile, body: Buffer | AsyncIterable<Buffer>, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
    signal?.throwIfAborted();
    read += chunk.length;
    if (read > f.size) throw sizeMismatch(f, read, true);
    yield chunk;
  }
  if (read !== f.size) throw sizeMismatch(f, read, false);
}

/** All of `bytes` at `at` (a write may take fewer bytes than it was given; the rest goes again). */
async function writeAt(out: FileHandle, bytes: Buffer, at: number): Promise<void> {
  for (let done = 0; done < bytes.length;) done += (await out.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
}

/**
 * The tarball into a regular file (the temp file beside dest): every header written at its offset, the blobs the
 * content store holds copied by the kernel (spliceFiles), the others (a base layer still in its registry) streamed
 * to their offsets.
 */
async function writeTarFile(path: string, files: TarFile[], blobs: BlobProvider, signal?: AbortSignal): Promise<void> {
  const out = await open(path, 'wx');   // tempPathBeside: never an existing file or a planted link
  const opened: FileHandle[] = [];
  try {
    const local: SplicePart[] = [];
    const blobOf = new Map<SplicePart, Descriptor>();
    let at = 0;
    for (const f of files) {
      signal?.throwIfAborted();
      await writeAt(out, tarHeader(f), at);
      at += 512;
      if (Buffer.isBuffer(f.body)) {
        await writeAt(out, f.body, at);
      } else {
        const file = await blobs.openFile?.(f.body);
        if (file !== undefined) {
          opened.push(file);
          const part = { from: file, at, size: f.size };
          local.push(part);
          blobOf.set(part, f.body);
        } else {
          let written = 0;
          for await (const chunk of sizedBody(f, await blobs.fetch(f.body, signal) as AsyncIterable<Buffer>, signal)) {
            await writeAt(out, chunk, at + written);
            written += chunk.length;
          }
        }
      }
      at += f.size;
      const pad = tarPadding(f.size);
      if (pad > 0) await writeAt(out, Buffer.alloc(pad), at);
      at += pad;
    }
    await writeAt(out, Buffer.alloc(TAR_END), at);
    try {
      await spliceFiles(out, path, local, signal);
    } catch (err) {
      const desc = err instanceof SpliceSizeError ? blobOf.get(err.part) : undefined;
      throw desc && err instanceof SpliceSizeError ? storeBlobDamaged(desc, err.actual) : err;
    }
  } finally {
    for (const file of opened) await file.close();
    await out.close();
  }
}

/**
 * The tarball into a stream (standard output, a pipe, a device), with the header blocks tar-stream wrote before
 * (worker encodeTarHeader is its port), each write awaited. A blob the content store holds is read through
 * fileChunks' few reused buffers: streamed through tar-stream, a 270 MB layer left ~75 MB of read buffers for V8 to
 * collect (peak RSS 147 MiB against 72 without the output, bench/RESULTS.md, ninth round). One that is not local (a
 * base layer still in its registry) is streamed. `end`: end `out` (a file; destroyed on a failure), not process.stdout.
 */
async function writeTarStream(out: Writable, files: TarFile[], blobs: BlobProvider, signal?: AbortSignal, end = true) {
  let failure: Error | undefined;
  const onError = (err: Error) => { failure ??= err; };
  out.on('error', onError);
  const write = (chunk: Buffer) => new Promise<void>((res, rej) => {
    if (failure) { rej(failure); return; }
    out.write(chunk, (err) => (err ? rej(err) : res()));
  });
  const entry = async (f: TarFile, body: Buffer | AsyncIterable<Buffer>) => {
    await write(tarHeader(f));
    for await (const chunk of sizedBody(f, body, signal)) await write(chunk);
    const pad = tarPadding(f.size);
    if (pad > 0) await write(Buffer.alloc(pad));
  };
  try {
    for (const f of files) {
      if (Buffer.isBuffer(f.body)) {
        await entry(f, f.body);
        continue;
      }
      const desc = f.body;
      const file = await blobs.openFile?.(desc);
      if (file === undefined) {
        await entry(f, await blobs.fetch(desc, signal));
        continue;
      }
      try {
        await entry(f, fileChunks(file, desc.size, (at) => storeBlobDamaged(desc, at)));
      } finally {
        await file.close();
      }
    }
    await write(Buffer.alloc(TAR_END));
    if (end) {
      out.end();
      await finished(out);
    }
    out.removeListener('error', onError);
  } catch (err) {
    if (end) out.destroy();   // its file descriptor closes before the caller removes the file
    // onError stays: a failed write's 'error' event comes after its callback (ENOSPC on /dev/full), and a stream
    // error nobody listens for ends the process as an uncaught exception.
    throw err;
  }
}
