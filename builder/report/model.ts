import type { BuildGraph, VertexId } from '../../frontend/index.js';
import type { RegistryMetrics } from '../../registry/index.js';
import type { BuildRecord, MissReason, VertexRecord } from '../../solver/index.js';
import { adviseBuild, type Advice } from './advice.js';
import { keyManifestOf, type KeyedBuildRecord, type StepKey } from '../explain/key-manifest.js';
import type { ContextReport } from '../context-report/context-report.js';
import { describeReason } from './describe-reason.js';
import { redactInstruction, redactRecord } from './redact.js';
import { displayText, keywordOf, locationLabel, sourceText, stageNameOf } from './instruction-text.js';

/** The cache-hit analysis of one build: plain JSON, rendered as JSON, Markdown and HTML. */
export interface Report {
  schemaVersion: 1;
  build: ReportBuild;
  totals: ReportTotals;
  steps: ReportStep[];
  advice: Advice[];
  /** What the build context sent and who read it (optional; see `tsbuild context`). */
  context?: ContextReport;
}

/** What was built, when, and with what result. Times are ISO 8601. */
export interface ReportBuild {
  id: string;
  started: string;
  finished: string;
  durationMs: number;
  status: BuildRecord['status'];
  dockerfile?: string;
  target?: string;
  args: Record<string, string>;
  tags: string[];
  resultDigest?: string;
  /** Names the image was pushed or stored under. */
  names: string[];
  error?: { code?: string; message: string };
  /** The attestation manifests attached in the image index (provenance, SBOM), one per platform image. */
  attestations?: ReportAttestation[];
}

/** One attestation manifest: its digest, the image it is about and what it holds (in-toto predicate types). */
export interface ReportAttestation { digest: string; subject: string; predicateTypes: string[] }

/** Counts and sums over the whole build. */
export interface ReportTotals {
  steps: number;
  cached: number;
  missed: number;
  /** Time spent running steps that missed (sum of their durations; parallel steps overlap). */
  missedMs: number;
  /** Bytes of the layers the missed steps created (compressed). */
  newLayerBytes: number;
  registry?: { bytesUp: number; bytesDown: number; requests: number; blobsUploaded: number; blobsMounted: number; blobsSkipped: number; retries: number };
}

/** One rendered miss reason: the data and its sentence. */
export interface ReportReason { reason: MissReason; text: string }

/** One step of the build as the report shows it. Offsets are milliseconds from the start of the build. */
export interface ReportStep {
  id: VertexId;
  stage: { index: number; name?: string };
  /** FROM, RUN, COPY … */
  keyword: string;
  /** As written in the Dockerfile when it is still there, else read back from the image history text. */
  instruction: string;
  location?: { file: string; line: number; endLine: number; label: string };
  cached: boolean;
  /** For a hit: the remote cache it came from (`--cache-from` REF); absent for a local hit. */
  cacheRef?: string;
  reasons: ReportReason[];
  /** The steps whose own changes made this one miss, found by walking `parent` reasons back (itself included). */
  rootCauses: VertexId[];
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Bytes of the layer this step added (compressed); 0 for config-only steps. */
  size: number;
  /**
   * The step's cache key and its ingredients (schemaVersion 1, optional; added for `tsbuild explain --against`):
   * secret-looking values are replaced by `redacted:sha256:…` of the value, so keys still compare equal.
   */
  key?: StepKey;
  /** The error of the step that failed the build (a failed build's report only). */
  error?: string;
}

/** What buildReport() reads: the stored record, plus what the build still had in memory when there is one. */
export interface ReportInput {
  record: BuildRecord;
  graph?: BuildGraph;
  metrics?: RegistryMetrics;
  image?: { digest: string; names: string[]; attestations?: ReportAttestation[] };
  /** The Dockerfile's text, so steps show the lines as written (and advice can quote them). */
  dockerfileText?: string;
}

/** Builds the report of one build. Pure. */
export function buildReport(raw: ReportInput): Report {
  // Everything a report shows may leave the machine (a CI summary, an attached artifact): secret-named args never do.
  const input: ReportInput = { ...raw, record: redactRecord(raw.record) };
  const { record } = input;
  const lines = input.dockerfileText?.split('\n');
  const origin = record.started;
  const platforms = new Map<string, number>();
  const instructions = new Map(record.vertices.map((v) => [v.id, instructionOf(v, lines)]));
  const steps = record.vertices.map((v) => reportStep(v, input, instructions, origin, platforms));
  addKeys(steps, keyManifestOf(record));
  nameStages(steps, input.graph);
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const step of steps) step.rootCauses = rootCauses(step, byId);
  const missed = steps.filter((s) => !s.cached);
  const build = reportBuild(input);
  const report: Report = {
    schemaVersion: 1,
    build,
    totals: {
      steps: steps.length,
      cached: steps.length - missed.length,
      missed: missed.length,
      missedMs: sum(missed.map((s) => s.durationMs)),
      newLayerBytes: sum(missed.map((s) => s.size)),
      ...(input.metrics ? { registry: registryTotals(input.metrics) } : {}),
    },
    steps,
    advice: [],
  };
  report.advice = adviseBuild(report, lines);
  const context = (record as KeyedBuildRecord).context;
  if (context !== undefined && context !== null) report.context = context;
  return report;
}

function reportBuild({ record, image }: ReportInput): ReportBuild {
  const resultDigest = image?.digest ?? record.resultDigest;
  return {
    id: record.id,
    started: new Date(record.started).toISOString(),
    finished: new Date(record.finished).toISOString(),
    durationMs: Math.max(0, record.finished - record.started),
    status: record.status,
    ...(record.dockerfile !== undefined ? { dockerfile: record.dockerfile } : {}),
    ...(record.target !== undefined ? { target: record.target } : {}),
    args: { ...record.args },
    tags: [...record.tags],
    ...(resultDigest !== undefined ? { resultDigest } : {}),
    names: image?.names ?? [],
    ...(record.error ? { error: { ...record.error } } : {}),
    ...(image?.attestations?.length ? { attestations: image.attestations } : {}),
  };
}

/**
 * A step's stage index from its id when the graph is gone (a build read back from history): `s<stage>.<step>`, or
 * `<os/arch>:s<stage>.<step>` in a multi-platform build, whose platforms get stage indexes of their own, 1000 apart.
 */
function stageIndexOf(id: string, platforms: Map<string, number>): number {
  const m = /^(?:(.+):)?s(\d+)\./.exec(id);
  if (!m) return 0;
  const platform = m[1];
  if (platform !== undefined && !platforms.has(platform)) platforms.set(platform, platforms.size);
  return (platform === undefined ? 0 : (platforms.get(platform) ?? 0) * 1000) + Number(m[2]);
}

/** A step as written in the Dockerfile, with what the reasons hide hidden here too (ARG DB_PASSWORD=…, ADD https://u:p@…). */
function instructionOf(v: VertexRecord, lines: string[] | undefined): string {
  const written = v.location ? sourceText(lines, v.location.line, v.location.endLine, keywordOf(v.text)) : undefined;
  return redactInstruction(written ?? displayText(v.text));
}

function reportStep(v: VertexRecord, input: ReportInput, instructions: Map<string, string>, origin: number, platforms: Map<string, number>): ReportStep {
  const keyword = keywordOf(v.text);
  const loc = v.location;
  const stageIndex = input.graph?.vertices.find((g) => g.id === v.id)?.stage ?? stageIndexOf(v.id, platforms);
  const startMs = Math.max(0, v.started - origin);
  return {
    id: v.id,
    stage: { index: stageIndex },
    keyword,
    instruction: instructions.get(v.id) ?? instructionOf(v, undefined),
    ...(loc ? { location: { file: loc.file, line: loc.line, endLine: loc.endLine, label: locationLabel(loc.file, loc.line) } } : {}),
    cached: v.cached,
    ...(v.cached && v.cacheSource === 'remote' && v.cacheRef !== undefined ? { cacheRef: v.cacheRef } : {}),
    reasons: v.reasons.map((reason) => ({ reason, text: describeReason(reason, (id) => instructions.get(id)) })),
    rootCauses: [],
    startMs,
    endMs: Math.max(startMs, v.finished - origin),
    durationMs: v.durationMs,
    size: v.size,
    ...(v.error !== undefined ? { error: v.error } : {}),
  };
}

/** Each step's key manifest entry, when the record has one. */
function addKeys(steps: ReportStep[], manifest: StepKey[] | undefined): void {
  const byVertex = new Map((manifest ?? []).map((k) => [k.vertex, k]));
  for (const step of steps) {
    const key = byVertex.get(step.id);
    if (key !== undefined) step.key = key;
  }
}

/** Stage names from the graph, or from each stage's `FROM … AS name` line. */
function nameStages(steps: ReportStep[], graph: BuildGraph | undefined): void {
  const names = new Map<number, string>();
  for (const stage of graph?.stages ?? []) if (stage.name !== undefined) names.set(stage.index, stage.name);
  for (const step of steps) {
    if (step.keyword !== 'FROM' || names.has(step.stage.index)) continue;
    // A multi-platform step (`linux/arm64:s1.0`) is named with its platform, as the build's progress named it.
    const platform = /^(.+):s\d+\./.exec(step.id)?.[1];
    const name = stageNameOf(step.instruction);
    if (name !== undefined || platform !== undefined) names.set(step.stage.index, [platform, name].filter(Boolean).join(' '));
  }
  for (const step of steps) {
    const name = names.get(step.stage.index);
    if (name !== undefined) step.stage.name = name;
  }
}

/** Walks `parent` reasons back to the steps that changed on their own. */
function rootCauses(step: ReportStep, byId: Map<VertexId, ReportStep>): VertexId[] {
  if (step.cached) return [];
  const out = new Set<VertexId>();
  const seen = new Set<VertexId>();
  const visit = (s: ReportStep) => {
    if (seen.has(s.id)) return;
    seen.add(s.id);
    let own = false;
    for (const { reason } of s.reasons) {
      if (reason.kind !== 'parent') { own = true; continue; }
      const parent = byId.get(reason.vertex);
      if (parent && !parent.cached) visit(parent);
      else own = true;   // a parent outside this build (or a hit) cannot explain more: stop here
    }
    if (own) out.add(s.id);
  };
  visit(step);
  return [...out];
}

function registryTotals(m: RegistryMetrics): NonNullable<ReportTotals['registry']> {
  return {
    bytesUp: m.blobBytesUp, bytesDown: m.blobBytesDown, requests: sum(Object.values(m.requests)),
    blobsUploaded: m.blobsUploaded, blobsMounted: m.blobsMounted, blobsSkipped: m.blobsSkipped, retries: m.retries,
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
