import { Option, type Command } from 'commander';
import { formatReference, isIndexMediaType, parseReference } from '../../registry/index.js';
import { addRegistryFlags, withRegistry, type RegistryFlags } from './registry-flags.js';
import { combine, pushCreatedIndex, sourceReference } from '../imagetools/create-index.js';
import { inspectText } from '../imagetools/inspect-text.js';
import { inspectFormatted } from '../imagetools/inspect-format.js';
import { parseTemplate } from '../imagetools/go-template.js';
import { parseAnnotationFlag } from '../options/annotations.js';
import { parseGoBool, UserError } from '../../common/index.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface CreateFlags extends RegistryFlags { tag: string[]; dryRun?: boolean; annotation: string[]; append?: boolean; progress?: string; preferIndex: boolean }

/** A boolean flag's value as Go's strconv.ParseBool reads `--flag=VALUE` (buildx's --prefer-index=false). */
function parseBool(name: string): (value: string) => boolean {
  return (value) => {
    const b = parseGoBool(value);
    if (b !== undefined) return b;
    throw new UserError('INVALID_ARGUMENT', `--${name}=${value}: expected true or false`, `write --${name}=false or leave it out`);
  };
}

/** `tsbuild imagetools create|inspect`, as `docker buildx imagetools`: merge images into an index, show one. */
export function registerImagetools(program: Command, signal: AbortSignal): void {
  const tools = program.command('imagetools').description('work with images in a registry: merge per-platform images into one index, inspect');

  addRegistryFlags(tools.command('create').argument('<sources...>', 'images or indexes to merge: REF, REPO@sha256:… or a bare sha256:… in the -t repository')
    .description('create one image index from the manifests of the sources, without pulling layers'))
    .option('-t, --tag <ref>', 'where to push the index; repeatable', collect, [])
    .option('--dry-run', 'print the index instead of pushing it')
    .option('--annotation <[type[platform]:]key=value>', 'index:KEY=VALUE on the index, manifest-descriptor[PLATFORM]:KEY=VALUE on its entries; repeatable', collect, [])
    .option('--append', 'add the sources to what the first -t already names (a CI matrix adding its platform)')
    .option('--progress <mode>', 'accepted for buildx scripts: what is copied is reported on stderr as one line per tag')
    // buildx's pflag boolean defaulting to true: only `--prefer-index=false` turns it off, and a bare flag never takes
    // the next word (cli.ts explicitBooleans writes it `--prefer-index=true`, the preset).
    .addOption(new Option('--prefer-index [bool]', 'a lone image manifest as the source is wrapped in an index (=false: pushed as it is, as a lone index always is)')
      .argParser(parseBool('prefer-index')).preset('true').default(true))
    .action((given: string[], flags: CreateFlags) => withRegistry(program, flags, async (client) => {
      if (flags.tag.length === 0 && flags.dryRun !== true) throw new UserError('INVALID_ARGUMENT', 'imagetools create needs -t REF (or --dry-run)', 'add -t registry/repository:tag');
      if (flags.append === true && flags.tag.length === 0) throw new UserError('INVALID_ARGUMENT', 'imagetools create --append needs -t REF: the index it adds to', 'add -t registry/repository:tag');
      const targets = flags.tag.map(parseReference);
      // buildx's --append: the first tag's image or index is the first source (it must exist).
      const sources = flags.append === true ? [flags.tag[0] as string, ...given] : given;
      const created = await combine(client, sources.map((s) => sourceReference(s, targets)), flags.annotation.flatMap(parseAnnotationFlag), flags.preferIndex, signal);
      if (flags.dryRun === true) {
        // What would be pushed: a kept source's own bytes; a new index shown indented, as buildx prints its own.
        process.stdout.write(created.kept ? `${Buffer.from(created.bytes).toString('utf8')}\n` : `${JSON.stringify(JSON.parse(Buffer.from(created.bytes).toString('utf8')), null, 2)}\n`);
        return;
      }
      const what = created.kept ? `${isIndexMediaType(created.descriptor.mediaType) ? 'index' : 'manifest'} ${created.descriptor.digest} kept as it is`
        : `index ${created.descriptor.digest} over ${created.entries.length} manifests`;
      for (const target of targets) {
        const c = await pushCreatedIndex(client, created, target, signal);
        process.stderr.write(`${formatReference(target)}: ${what}; ${c.manifestsCopied} manifests copied (${c.blobsMounted} blobs mounted, ${c.blobsCopied} copied, ${c.blobsPresent} present)\n`);
      }
      process.stdout.write(`${created.descriptor.digest}\n`);
    }));

  addRegistryFlags(tools.command('inspect').argument('<ref>', 'the image or index').description('show an image or index: its media type, digest and, for an index, each platform manifest'))
    .option('--raw', 'print the manifest or index exactly as the registry stores it')
    .option('--format <template>', "a Go template over buildx's inputs: .Name, .Manifest, .Image, .Provenance, .SBOM (e.g. '{{json .Manifest}}')")
    .action((refText: string, flags: RegistryFlags & { raw?: boolean; format?: string }) => withRegistry(program, flags, async (client) => {
      if (flags.format !== undefined && flags.raw === true) throw new UserError('INVALID_ARGUMENT', 'format and raw cannot be used together', 'drop --raw or --format');
      // Parsed before any request, so a bad template fails fast with its position (exit 2).
      const template = flags.format !== undefined ? parseTemplate(flags.format) : undefined;
      const ref = parseReference(refText);
      const fetched = await client.getManifest(ref, undefined, signal);
      if (template) process.stdout.write(await inspectFormatted(client, ref, refText, fetched, template));
      else if (flags.raw === true) process.stdout.write(Buffer.from(fetched.bytes));
      else process.stdout.write(inspectText(ref, fetched.descriptor, fetched.document));
    }));
}
