import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { isIndexMediaType } from '../../registry/index.js';
import { addRegistryFlags, withRegistry, type RegistryFlags } from './registry-flags.js';
import { combine } from '../imagetools/create-index.js';
import { pushCreatedIndex } from '../imagetools/push-created.js';
import { createSources } from '../imagetools/create-source.js';
import { filterPlatforms } from '../imagetools/filter-platforms.js';
import { formatLocation, locationName, parseLocation } from '../imagetools/location.js';
import { LocationStore } from '../imagetools/location-store.js';
import { platformsOption } from './build-flags.js';
import { writeMetadataObject } from '../metadata-file.js';
import { inspectText } from '../imagetools/inspect-text.js';
import { inspectFormatted } from '../imagetools/inspect-format.js';
import { parseTemplate } from '../imagetools/go-template.js';
import { parseAnnotationFlag } from '../options/annotations.js';
import { parseGoBool, UserError } from '../../common/index.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface CreateFlags extends RegistryFlags {
  tag: string[]; file: string[]; dryRun?: boolean; annotation: string[]; append?: boolean; progress?: string; preferIndex: boolean; platform: string[]; metadataFile?: string;
}

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

  addRegistryFlags(tools.command('create').argument('[sources...]', 'images or indexes to merge: REF, REPO@sha256:…, a bare sha256:… or a descriptor\'s JSON in the one repository named')
    .description('create one image index from the manifests of the sources, without pulling layers'))
    .option('-f, --file <path>', 'read a source descriptor (JSON) from a file; repeatable', collect, [])
    .option('-t, --tag <ref>', 'where to push the index; repeatable', collect, [])
    .option('--dry-run', 'print the index instead of pushing it')
    .option('--annotation <[type[platform]:]key=value>', 'index:KEY=VALUE on the index, manifest-descriptor[PLATFORM]:KEY=VALUE on its entries; repeatable', collect, [])
    .option('--append', 'add the sources to what the first -t already names (a CI matrix adding its platform)')
    .option('--progress <mode>', 'accepted for buildx scripts: what is copied is reported on stderr as one line per tag')
    // buildx's pflag boolean defaulting to true: only `--prefer-index=false` turns it off, and a bare flag never takes
    // the next word (cli.ts explicitBooleans writes it `--prefer-index=true`, the preset).
    .addOption(new Option('--prefer-index [bool]', 'a lone image manifest as the source is wrapped in an index (=false: pushed as it is, as a lone index always is)')
      .argParser(parseBool('prefer-index')).preset('true').default(true))
    .option('-p, --platform <os/arch,...>', 'keep only these platforms of the sources (and their attestations); repeatable', collect, [])
    .option('--metadata-file <path>', 'write the pushed descriptor and repository names as JSON (buildx keys)')
    .action((given: string[], flags: CreateFlags) => withRegistry(program, flags, async (client) => {
      if (given.length === 0 && flags.file.length === 0) throw new UserError('INVALID_ARGUMENT', 'no sources specified', 'name the images to combine, or --file DESCRIPTOR.json');
      if (flags.tag.length === 0 && flags.dryRun !== true) throw new UserError('INVALID_ARGUMENT', "can't push with no tags specified, please set --tag or --dry-run", 'add -t registry/repository:tag');
      const targets = flags.tag.map(parseLocation);
      const store = new LocationStore(client);
      // buildx's runCreate: the files' descriptors come first, then the arguments; --append puts the first tag before all.
      const files = await Promise.all(flags.file.map(async (f) => await readFile(f, 'utf8')));
      const texts = [...(flags.append === true && flags.tag[0] !== undefined ? [flags.tag[0]] : []), ...files, ...given];
      const wanted = flags.platform.length > 0 ? platformsOption(flags.platform.join(',')) ?? [] : [];
      const combined = await combine(store, createSources(texts, targets), flags.annotation.flatMap(parseAnnotationFlag), flags.preferIndex, signal);
      const created = await filterPlatforms(store, combined, wanted, signal);
      if (flags.dryRun === true) {
        // What would be pushed, byte for byte (a new index is written indented, as buildx writes and prints it).
        process.stdout.write(`${Buffer.from(created.bytes).toString('utf8')}\n`);
        return;
      }
      const what = created.kept ? `${isIndexMediaType(created.descriptor.mediaType) ? 'index' : 'manifest'} ${created.descriptor.digest} kept as it is`
        : `index ${created.descriptor.digest} over ${created.entries.length} manifests`;
      for (const target of targets) {
        const c = await pushCreatedIndex(store, created, target, signal);
        process.stderr.write(`${formatLocation(target)}: ${what}; ${c.manifestsCopied} manifests copied (${c.blobsMounted} blobs mounted, ${c.blobsCopied} copied, ${c.blobsPresent} present)\n`);
      }
      if (flags.metadataFile !== undefined) {
        // buildx's runCreate: the descriptor pushed, and the target repositories, sorted, comma-separated.
        const { mediaType, digest, size } = created.descriptor;
        await writeMetadataObject(flags.metadataFile, {
          'containerimage.descriptor': { mediaType, digest, size },
          'image.name': [...new Set(targets.map(locationName))].sort().join(','),
        });
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
      const at = parseLocation(refText);
      const store = new LocationStore(client);
      const fetched = await store.getManifest(at, undefined, signal);
      if (template) process.stdout.write(await inspectFormatted(store, at, refText, fetched, template));
      else if (flags.raw === true) process.stdout.write(Buffer.from(fetched.bytes));
      else process.stdout.write(inspectText(at, fetched.descriptor, fetched.document));
    }));
}
