import type { BuildGraph, Vertex } from '../../frontend/index.js';
import { formatPlatform, normalizePlatform, parsePlatform, type Platform } from '../../registry/index.js';
import { qualifiedId, type PlatformPart } from '../multi-platform.js';
import { displayText, keywordOf, sourceText } from '../report/instruction-text.js';
import { visibleText } from '../../common/index.js';

/**
 * Step labels as buildx shows them: `[build 2/4] COPY --from=deps /out ./` (stage name or index, position among the
 * stage's steps, the instruction as written in the Dockerfile when its text is known, else read back from history;
 * a FROM image is its resolved reference, as BuildKit shows it).
 * Vertices shared by several stages keep the label of the first stage that lists them. With several platforms
 * (`parts`), each label starts with the platform the stage runs on, as BuildKit's dockerfile2llb prefixCommand names
 * steps when several were asked for: a `FROM --platform=$BUILDPLATFORM` stage's step is `[linux/amd64 build 2/4]`
 * in every platform's graph (one step, shown once), and `[linux/amd64->arm64 build 3/4]` once the step's environment
 * names another target (formatTargetPlatform).
 */
export function vertexLabels(graph: BuildGraph, dockerfileText?: string, parts: PlatformPart[] = []): Map<string, string> {
  // The Dockerfile's author wrote these: control characters are written out (visible-text.ts).
  if (parts.length < 2) return new Map([...stageLabels(graph, dockerfileText, false)].map(([id, label]) => [id, visibleText(label)]));
  return new Map(parts.flatMap((part) => [...stageLabels(part.graph, dockerfileText, true)].map(([id, label]) => [qualifiedId(part.name, id), visibleText(label)])));
}

function stageLabels(graph: BuildGraph, dockerfileText: string | undefined, isPrefixed: boolean): Map<string, string> {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const lines = dockerfileText?.split('\n');
  const labels = new Map<string, string>();
  const many = graph.stages.length > 1;
  for (const stage of graph.stages) {
    const name = stage.name ?? (many ? `stage-${stage.index}` : '');
    const own = stage.vertices.flatMap((id) => byId.get(id) ?? []).filter((v) => v.stage === stage.index);
    const total = own.filter((v) => isNumbered(v) || isRootWorkdir(v)).length;
    let step = 0;
    for (const v of own) {
      if (labels.has(v.id)) continue;
      const text = `${v.onbuild ? 'ONBUILD ' : ''}${v.op.kind === 'image' ? imageLabel(v.op.ref, v.op.digest) : v.name !== undefined ? oneLine(v.name) : writtenText(v, lines)}`;
      if (!isNumbered(v)) {
        labels.set(v.id, text);
        continue;
      }
      const platform = isPrefixed ? `${formatPlatform(stage.platform)}${targetSuffix(stage.platform, v)} ` : '';
      // BuildKit's prefixCommand pads the index to the width of the total (`%*d`): `[ 3/12]`.
      labels.set(v.id, `[${platform}${name ? `${name} ` : ''}${String(++step).padStart(String(total).length)}/${total}] ${text}`);
    }
  }
  // An image only COPY --from or RUN --mount from= names is a stage of no steps in BuildKit (cmdTotal 0): its FROM
  // has no brackets. Only in a graph of stages: a bake's shared display (bake-progress.ts) has none, its texts are
  // each target's own labels already.
  if (graph.stages.length > 0) for (const v of graph.vertices) if (!labels.has(v.id) && v.op.kind === 'image') labels.set(v.id, imageLabel(v.op.ref, v.op.digest));
  return labels;
}

// BuildKit numbers the steps that are LLB vertices (dockerfile2llb toDispatchState counts cmdTotal, prefixCommand
// takes the next index): a FROM of an image, RUN, COPY, ADD and WORKDIR. FROM scratch, a FROM of another stage and
// the config-only instructions (ENV, LABEL, ARG, CMD …) are no vertex there, so they take no number here.
function isNumbered(v: Vertex): boolean {
  return v.op.kind === 'image' || v.op.kind === 'exec' || v.op.kind === 'copy' || v.op.kind === 'mkdir';
}

// `WORKDIR /` creates nothing (no mkdir vertex), yet BuildKit counts every WORKDIR in the stage's total.
function isRootWorkdir(v: Vertex): boolean {
  return v.op.kind === 'meta' && v.text.startsWith('WORKDIR ');
}

/** A step's instruction as written in the Dockerfile (continuations joined), else as the graph has it. */
function writtenText(v: Vertex, lines: string[] | undefined): string {
  const shown = displayText(v.text);
  const written = v.location ? sourceText(lines, v.location.line, v.location.endLine, keywordOf(shown)) : undefined;
  return written === undefined ? shown : oneLine(written.replace(/\\\n\s*/g, ' '));
}

/** A label is one line: runs of white space (a continuation's indentation, a tab) become one space. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * A FROM step as BuildKit names it (dockerfile2llb: `"FROM " + BaseName` once the metadata is resolved): the
 * normalized reference with the digest it resolved to, `FROM docker.io/library/alpine:3.20@sha256:…`, never the
 * `FROM ${BASE} AS build` as written: the log says which image the build ran on.
 */
function imageLabel(ref: string, digest: string): string {
  return `FROM ${ref.includes('@') ? ref : `${ref}@${digest}`}`;
}

/**
 * BuildKit's formatTargetPlatform(base, platformFromEnv(env)): `->arm64` when the step's TARGET* variables name
 * another architecture of the stage's OS, `->windows/amd64` another OS, nothing otherwise (no variable, the same
 * architecture). A TARGETPLATFORM that parses wins over TARGETOS/TARGETARCH/TARGETVARIANT; an empty part is the
 * stage's own.
 */
function targetSuffix(base: Platform, v: Vertex): string {
  const env = v.targetEnv;
  if (env === undefined) return '';
  const parsed = env['TARGETPLATFORM'] === undefined ? undefined : parsePlatform(env['TARGETPLATFORM']);
  if (parsed === undefined && !['TARGETOS', 'TARGETARCH', 'TARGETVARIANT'].some((k) => k in env)) return '';
  const variant = parsed === undefined ? env['TARGETVARIANT'] : parsed.variant;
  const target = normalizePlatform({
    os: (parsed === undefined ? env['TARGETOS'] : parsed.os) || base.os,
    architecture: (parsed === undefined ? env['TARGETARCH'] : parsed.architecture) || base.architecture,
    ...(variant ? { variant } : {}),
  });
  if (target.os !== base.os) return `->${formatPlatform(target)}`;
  return target.architecture !== base.architecture ? `->${[target.architecture, target.variant].filter(Boolean).join('/')}` : '';
}
