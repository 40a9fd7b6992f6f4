import { formatPlatform, parsePlatform, type Platform } from '../../registry/oci/index.js';
import { UserError } from '../../common/index.js';

/** Where an annotation goes, with buildx's names: `manifest` (the default), `index`, and their descriptors. */
export type AnnotationKind = 'manifest' | 'index' | 'manifest-descriptor' | 'index-descriptor';

/** One annotation: its target, an optional platform it is limited to, its key and value. */
export interface Annotation { kind: AnnotationKind; platform?: string; key: string; value: string }

/** The annotations of one output. */
export type Annotations = Annotation[];

const KEY_RE = /^annotation(?:-(manifest|index|manifest-descriptor|index-descriptor))?(?:\[([^\]]+)\])?\.(.+)$/;

function platformText(text: string, where: string): string {
  const p = parsePlatform(text);
  if (!p) throw new UserError('INVALID_ARGUMENT', `${where}: invalid platform ${JSON.stringify(text)}`, 'write os/arch[/variant], e.g. linux/amd64');
  return formatPlatform(p);
}

/** Reads the `annotation*` attributes of an `-o` value (buildx's syntax); undefined when there are none. */
export function parseAnnotations(attrs: Record<string, string>, text: string): Annotations | undefined {
  const out: Annotations = [];
  for (const [name, value] of Object.entries(attrs)) {
    if (!name.startsWith('annotation')) continue;
    const m = KEY_RE.exec(name);
    if (!m?.[3]) {
      throw new UserError('INVALID_ARGUMENT', `-o ${text}: invalid annotation attribute ${JSON.stringify(name)}`,
        'write annotation.KEY=VALUE, or annotation-manifest|index|manifest-descriptor|index-descriptor[PLATFORM].KEY=VALUE');
    }
    out.push({ kind: (m[1] ?? 'manifest') as AnnotationKind, ...(m[2] ? { platform: platformText(m[2], `-o ${text}`) } : {}), key: m[3], value });
  }
  return out.length ? out : undefined;
}

/** Reads one `--annotation` flag: `[TYPE[,TYPE…][PLATFORM]:]KEY=VALUE`, as buildx does. */
export function parseAnnotationFlag(text: string): Annotations {
  if (text === '') return [];   // buildx skips an empty one (a CI script's unset variable)
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError('INVALID_ARGUMENT', `--annotation ${JSON.stringify(text)}: missing KEY=VALUE`, 'e.g. --annotation org.opencontainers.image.title=app');
  const head = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const colon = head.indexOf(':');
  // `KEY=VALUE` alone is a manifest annotation, buildx's default. Everything before a colon is a list of types, each
  // with an optional platform, as buildx's ParseAnnotations reads it: `Manifest:k` or `manifest[linux/amd64:k` is an
  // error there, never a key that holds a colon.
  if (colon < 0) return [{ kind: 'manifest', key: head, value }];
  const key = head.slice(colon + 1);
  if (!key) throw new UserError('INVALID_ARGUMENT', `--annotation ${JSON.stringify(text)}: missing key`, 'write [TYPE[PLATFORM]:]KEY=VALUE');
  return head.slice(0, colon).split(',').map((typeAndPlatform) => {
    const m = /^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$/.exec(typeAndPlatform);
    if (!m?.[1]) {
      throw new UserError('INVALID_ARGUMENT', `--annotation ${JSON.stringify(text)}: invalid annotation type ${JSON.stringify(typeAndPlatform)}, expected type and optional platform in square brackets`, 'write [TYPE[PLATFORM]:]KEY=VALUE, e.g. manifest[linux/amd64]:org.opencontainers.image.title=app');
    }
    const kind = m[1];
    if (!['manifest', 'index', 'manifest-descriptor', 'index-descriptor'].includes(kind)) {
      throw new UserError('INVALID_ARGUMENT', `--annotation ${JSON.stringify(text)}: unknown annotation type ${JSON.stringify(kind)}`, 'use manifest, index, manifest-descriptor or index-descriptor');
    }
    const platform = m[2] ? platformText(m[2], '--annotation') : undefined;
    return { kind: kind as AnnotationKind, ...(platform ? { platform } : {}), key, value };
  });
}

/** The annotations of `kind` that apply to an image of `platform`, as a record (later entries win). */
export function annotationsFor(list: Annotations | undefined, kind: AnnotationKind, platform: Platform): Record<string, string> {
  const out: Record<string, string> = {};
  const p = formatPlatform(platform);
  for (const a of list ?? []) if (a.kind === kind && (a.platform === undefined || a.platform === p)) out[a.key] = a.value;
  return out;
}
