import type { Command } from 'commander';
import {
  attachArtifact, CREATED_ANNOTATION, DEFAULT_ARTIFACT_TYPE, discoverReferrers, formatReference, parseReference, pullArtifact, pushArtifact, type ArtifactFile, type Descriptor, type RegistryMetrics,
} from '../../registry/index.js';
import { addRegistryFlags, withRegistry, type RegistryFlags } from './registry-flags.js';
import { UserError } from '../../common/index.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `FILE[:mediatype]` as oras takes it: the part after the last colon is a media type only if it looks like one. */
function fileArg(text: string): ArtifactFile {
  const colon = text.lastIndexOf(':');
  if (colon > 0) {
    const mediaType = text.slice(colon + 1);
    if (/^[A-Za-z0-9][\w.+-]*\/[\w.+-]+$/.test(mediaType)) return { path: text.slice(0, colon), mediaType };
  }
  if (text === '') throw new UserError('INVALID_ARGUMENT', 'an empty file argument', 'give files as PATH or PATH:media/type');
  return { path: text };
}

/** Repeatable `--annotation key=value`, stamped with the creation time (as oras does) unless one is given. */
function annotationsOf(values: string[]): Record<string, string> {
  const out: Record<string, string> = { [CREATED_ANNOTATION]: new Date().toISOString() };
  for (const item of values) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError('INVALID_ARGUMENT', `--annotation ${JSON.stringify(item)}: expected key=value`, 'write --annotation org.opencontainers.image.description="…"');
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function artifactTypeOf(value: string | undefined): string {
  if (value === undefined) return DEFAULT_ARTIFACT_TYPE;
  if (!/^[A-Za-z0-9][\w.+-]*\/[\w.+-]+$/.test(value)) throw new UserError('INVALID_ARGUMENT', `--artifact-type ${JSON.stringify(value)} is not a media type`, 'write type/subtype, e.g. application/vnd.example.sbom.v1+json');
  return value;
}

function uploadSummary(m: RegistryMetrics): string {
  return `${m.blobsUploaded} blob(s) uploaded (${m.blobBytesUp} bytes), ${m.blobsSkipped} already present`;
}

/** The `oras discover` tree: the subject, its referrers grouped by artifactType. */
function discoverTree(subject: string, referrers: Descriptor[]): string {
  const groups = new Map<string, Descriptor[]>();
  for (const r of referrers) {
    const type = r.artifactType ?? '(no artifactType)';
    groups.set(type, [...(groups.get(type) ?? []), r]);
  }
  const lines = [subject];
  const types = [...groups.keys()];
  types.forEach((type, i) => {
    const lastType = i === types.length - 1;
    lines.push(`${lastType ? '└── ' : '├── '}${type}`);
    const items = groups.get(type) ?? [];
    items.forEach((r, j) => lines.push(`${lastType ? '    ' : '│   '}${j === items.length - 1 ? '└── ' : '├── '}${r.digest}`));
  });
  return `${lines.join('\n')}\n`;
}

interface PushFlags extends RegistryFlags { artifactType?: string; annotation: string[] }
interface DiscoverFlags extends RegistryFlags { artifactType?: string; json?: boolean }

/** `tsbuild artifact push|pull|attach|discover`: OCI 1.1 artifacts and referrers, ORAS-style. */
export function registerArtifact(program: Command): void {
  const artifact = program.command('artifact').description('push, pull, attach and discover OCI artifacts (files stored in a registry, ORAS-style)');

  addRegistryFlags(artifact.command('push').argument('<ref>', 'where to push: registry/repository:tag').argument('<files...>', 'files, each PATH or PATH:media/type').description('push files as an OCI artifact; prints the manifest digest'))
    .option('--artifact-type <type>', `the artifact's type (default ${DEFAULT_ARTIFACT_TYPE})`)
    .option('--annotation <key=value>', 'a manifest annotation; repeatable', collect, [])
    .action((refText: string, files: string[], flags: PushFlags) => withRegistry(program, flags, async (client) => {
      const ref = parseReference(refText);
      const pushed = await pushArtifact(client, ref, files.map(fileArg), { artifactType: artifactTypeOf(flags.artifactType), annotations: annotationsOf(flags.annotation) });
      process.stderr.write(`Pushed ${formatReference(ref)}: ${files.length} file(s), ${uploadSummary(client.metrics)}\n`);
      process.stdout.write(`${pushed.digest}\n`);
    }));

  addRegistryFlags(artifact.command('pull').argument('<ref>', 'the artifact: registry/repository:tag or @sha256:…').description('pull an artifact\'s files into a directory'))
    .option('-o, --output <dir>', 'directory to write the files into', '.')
    .action((refText: string, flags: RegistryFlags & { output: string }) => withRegistry(program, flags, async (client) => {
      const written = await pullArtifact(client, parseReference(refText), flags.output);
      for (const path of written) process.stdout.write(`${path}\n`);
      process.stderr.write(`Pulled ${written.length} file(s) into ${flags.output}\n`);
    }));

  addRegistryFlags(artifact.command('attach').argument('<files...>', 'files, each PATH or PATH:media/type').description('push files as an artifact that refers to an image (a referrer); prints its digest'))
    .requiredOption('--subject <ref>', 'the image (manifest or index) the artifact refers to')
    .option('--artifact-type <type>', `the artifact's type (default ${DEFAULT_ARTIFACT_TYPE})`)
    .option('--annotation <key=value>', 'a manifest annotation; repeatable', collect, [])
    .action((files: string[], flags: PushFlags & { subject: string }) => withRegistry(program, flags, async (client) => {
      const subjectRef = parseReference(flags.subject);
      const attached = await attachArtifact(client, subjectRef, files.map(fileArg), { artifactType: artifactTypeOf(flags.artifactType), annotations: annotationsOf(flags.annotation) });
      process.stderr.write(`Attached to ${formatReference({ ...subjectRef, digest: attached.subject.digest })} (listed via ${attached.via}): ${uploadSummary(client.metrics)}\n`);
      process.stdout.write(`${attached.artifact.digest}\n`);
    }));

  addRegistryFlags(artifact.command('discover').argument('<ref>', 'the image whose referrers to list').description('list the artifacts that refer to an image'))
    .option('--artifact-type <type>', 'only referrers of this artifact type')
    .option('--json', 'print JSON: the subject, its referrers and how they were found')
    .action((refText: string, flags: DiscoverFlags) => withRegistry(program, flags, async (client) => {
      const ref = parseReference(refText);
      const found = await discoverReferrers(client, ref, flags.artifactType !== undefined ? { artifactType: flags.artifactType } : {});
      const subject = formatReference({ registry: ref.registry, path: ref.path, digest: found.subject.digest });
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ subject: found.subject, referrers: found.referrers, via: found.via }, null, 2)}\n`);
      else process.stdout.write(discoverTree(subject, found.referrers));
    }));
}
