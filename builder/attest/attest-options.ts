import { parseGoBool, UserError } from '../../common/index.js';
import { flagFields } from '../options/csv-attrs.js';
import type { OutputSpec } from '../options/output.js';
import { DEFAULT_SLSA_VERSION, type ProvenanceOptions } from './provenance.js';

/** `--sbom` once parsed: scan the final image, and with `scan-stage=true` every other stage built too. */
export interface SbomOptions { scanStage: boolean }

/** The attestations a build attaches: none, provenance, an SBOM or both. */
export interface AttestRequest { provenance?: ProvenanceOptions; sbom?: SbomOptions }

/** buildx's default provenance (its `mode=min,inline-only=true`), in BuildKit's default SLSA version (DEFAULT_SLSA_VERSION). */
const DEFAULT_PROVENANCE: ProvenanceOptions = { mode: 'min', version: DEFAULT_SLSA_VERSION, inlineOnly: true };

/** The build args BuildKit reads as attestations (frontend/attestations/parse.go). */
const ATTEST_BUILD_ARG = 'BUILDKIT_ATTEST_';

// scan-stage and scan-context are read by the SBOM scanner, which takes these spellings.
const TRUE = ['true', '1', 'yes', 'on'];

function invalid(flag: string, text: string, why: string, hint: string): UserError {
  return new UserError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(text)}: ${why}`, hint);
}

/**
 * `a=b,c=d` as entries, keys trimmed and lower-cased, as buildx's Attest.UnmarshalText reads them: CSV fields
 * (csvvalue), every one key=value (an empty one is not), the value as written, and
 * `disabled` is a Go strconv.ParseBool value (`disabled=maybe` is an error there, not "enabled").
 * `--provenance`/`--sbom` may also be one ParseBool value alone (buildx's CanonicalizeAttest): it is `disabled=!v`.
 */
function attrs(flag: string, text: string, isShorthand: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const alone = isShorthand ? parseGoBool(text.trim()) : undefined;
  if (alone !== undefined) return out.set('disabled', String(!alone));
  for (const part of flagFields(flag, text)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const example = flag === '--sbom' ? 'scan-stage=true' : flag === '--provenance' ? 'mode=max' : 'type=provenance,mode=max or type=sbom,disabled=true';
      throw invalid(flag, text, `"${part}" is not key=value`, `write e.g. ${example}${isShorthand ? ', or true/false' : ''}`);
    }
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1);
    if (key === 'disabled' && parseGoBool(value) === undefined) {
      throw invalid(flag, text, `invalid value disabled=${value}: not a boolean`, 'write disabled=true or disabled=false (Go\'s strconv.ParseBool: 1, t, true, 0, f, false)');
    }
    out.set(key, value);
  }
  return out;
}

function isOff(a: Map<string, string>): boolean {
  return parseGoBool(a.get('disabled')) === true;
}

function provenanceOf(flag: string, text: string, a: Map<string, string>): ProvenanceOptions | undefined {
  if (isOff(a)) return undefined;
  // Provenance asked for without a mode is BuildKit's default, max (solver/llbsolver/provenance.go: `mode := "max"`
  // unless the attributes name one): `--provenance=true` reaches it as `type=provenance` (buildx's
  // CanonicalizeAttest), with no mode. Only buildx's own default, which no flag mentions, says min (DEFAULT_PROVENANCE).
  // BuildKit also reads `full` as `max`.
  const asked = a.get('mode') ?? 'max';
  const mode = asked === 'full' ? 'max' : asked;
  if (mode !== 'min' && mode !== 'max') throw invalid(flag, text, `mode must be min or max, not "${mode}"`, 'write mode=min (no build args) or mode=max (build args and every step)');
  const version = a.get('version') ?? DEFAULT_SLSA_VERSION;
  if (version !== 'v0.2' && version !== 'v1') throw invalid(flag, text, `version must be v0.2 or v1, not "${version}"`, 'write version=v0.2 for SLSA provenance v0.2, or leave it out for v1');
  const builderId = a.get('builder-id');
  for (const key of a.keys()) {
    if (!['disabled', 'mode', 'version', 'builder-id', 'type', 'inline-only', 'reproducible', 'filename'].includes(key)) {
      throw invalid(flag, text, `unknown provenance option "${key}"`, 'known: mode=min|max, version=v0.2|v1, builder-id=URL, filename=NAME, inline-only=true, disabled=true');
    }
  }
  // BuildKit reads inline-only with strconv.ParseBool, anything else as false (solver/llbsolver/proc/provenance.go).
  const inlineOnly = parseGoBool(a.get('inline-only')) === true;
  // The name of a file in the user's output directory: one name, as BuildKit takes its path.Base.
  const filename = a.get('filename');
  if (filename !== undefined && (filename === '' || filename.includes('/') || filename === '.' || filename === '..' || filename.includes('\0'))) {
    throw invalid(flag, text, `filename must be one file name, not ${JSON.stringify(filename)}`, 'write e.g. filename=provenance.json');
  }
  // BuildKit reads reproducible with strconv.ParseBool and fails the build on anything else.
  const reproducibleText = a.get('reproducible');
  const reproducible = parseGoBool(reproducibleText);
  if (reproducibleText !== undefined && reproducible === undefined) {
    throw invalid(flag, text, `reproducible must be true or false, not "${reproducibleText}"`, 'write reproducible=true or reproducible=false');
  }
  return {
    mode, version, ...(builderId ? { builderId } : {}), ...(reproducible !== undefined ? { reproducible } : {}),
    ...(inlineOnly ? { inlineOnly } : {}), ...(filename !== undefined ? { filename } : {}),
  };
}

function sbomOf(flag: string, text: string, a: Map<string, string>): SbomOptions | undefined {
  if (isOff(a)) return undefined;
  if (a.has('generator')) {
    throw invalid(flag, text, 'tsbuild scans with its own scanner and runs no generator image', 'leave generator= out: the SBOM lists dpkg, apk, npm and Python packages');
  }
  for (const key of a.keys()) {
    if (!['disabled', 'type', 'scan-stage', 'scan-context'].includes(key)) {
      throw invalid(flag, text, `unknown sbom option "${key}"`, 'known: scan-stage=true, disabled=true');
    }
  }
  if (TRUE.includes((a.get('scan-context') ?? 'false').toLowerCase())) {
    // BuildKit's scanner also lists the packages of the build context; tsbuild scans images only. Refused, not dropped.
    throw invalid(flag, text, 'scan-context=true is not supported: tsbuild scans the image (and with scan-stage the stages), not the build context', 'drop scan-context=true');
  }
  return { scanStage: TRUE.includes((a.get('scan-stage') ?? 'false').toLowerCase()) };
}

/**
 * The attestations asked for with buildx's flags: `--provenance` (`true` = `mode=max`, `false` = off (any Go
 * ParseBool spelling), `mode=min|max`, `version=v1|v0.2` (v1 when left out), `builder-id=…`), `--sbom` (`true`, `scan-stage=true`) and `--attest type=…,…`
 * (repeatable; the later of two for one type wins, as in buildx). `BUILDKIT_SBOM_SCAN_STAGE=true` as a build arg
 * also scans the stages, as in BuildKit.
 *
 * Provenance that no flag mentions is `mode=min` when `defaultProvenance` is true (see `defaultProvenanceApplies`),
 * as buildx's default; any `--provenance` or `--attest type=provenance`, `false` included, replaces the default.
 *
 * BuildKit also takes an attestation from a build arg, `BUILDKIT_ATTEST_<TYPE>=ATTRS` (frontend/attestations/parse.go
 * Parse reads `build-arg:BUILDKIT_ATTEST_` beside `attest:`), an empty value asking for the type's defaults (v1
 * provenance). There the two race (one Go map); here the build arg replaces buildx's default and a flag naming the
 * type replaces the build arg. Its value reads as `--provenance`'s/`--sbom`'s (`false` turns it off).
 */
export function parseAttestFlags(
  flags: { provenance?: string; sbom?: string; attest?: string[] }, buildArgs: Record<string, string>, opts: { defaultProvenance?: boolean } = {},
): AttestRequest {
  let provenance: ProvenanceOptions | undefined = opts.defaultProvenance ? DEFAULT_PROVENANCE : undefined;
  let sbom: SbomOptions | undefined;
  for (const [name, text] of Object.entries(buildArgs)) {
    if (!name.startsWith(ATTEST_BUILD_ARG)) continue;
    const flag = `--build-arg ${name}`;
    const type = name.slice(ATTEST_BUILD_ARG.length).toLowerCase();
    const a = text.trim() === '' ? new Map<string, string>() : attrs(flag, text, true);
    if (type === 'provenance') provenance = provenanceOf(flag, text, a);
    else if (type === 'sbom') sbom = sbomOf(flag, text, a);
    // BuildKit's Validate: "unknown attestation type".
    else throw invalid(flag, text, `unknown attestation type "${type}"`, 'BUILDKIT_ATTEST_PROVENANCE and BUILDKIT_ATTEST_SBOM are the attestation build args');
  }
  for (const text of flags.attest ?? []) {
    const a = attrs('--attest', text, false);
    const type = a.get('type');
    if (type === 'provenance') provenance = provenanceOf('--attest', text, a);
    else if (type === 'sbom') sbom = sbomOf('--attest', text, a);
    else throw invalid('--attest', text, type === undefined ? 'type= is missing' : `unknown attestation type "${type}"`, 'write --attest type=provenance,mode=max or --attest type=sbom');
  }
  // An empty --provenance or --sbom is not given, as in buildx (`if o.provenance != ""`).
  if (flags.provenance) provenance = provenanceOf('--provenance', flags.provenance, attrs('--provenance', flags.provenance, true));
  if (flags.sbom) sbom = sbomOf('--sbom', flags.sbom, attrs('--sbom', flags.sbom, true));
  if (sbom && TRUE.includes((buildArgs.BUILDKIT_SBOM_SCAN_STAGE ?? '').toLowerCase())) sbom = { scanStage: true };
  return { ...(provenance ? { provenance } : {}), ...(sbom ? { sbom } : {}) };
}

/**
 * Whether buildx's default `mode=min` provenance applies: the image is pushed (`--push`, `-o type=image,push=true`,
 * `-o type=registry`) or written as an OCI layout (`-o type=oci`), the outputs where BuildKit stores attestations
 * inline; not for an image kept in the store, nor for docker, local or tar outputs. `BUILDX_NO_DEFAULT_ATTESTATIONS`
 * set to a true value (Go's strconv.ParseBool: 1, t, true …) turns the default off, as in buildx. The default costs
 * no determinism: `min` provenance is the same bytes for the same inputs (see provenance.ts).
 */
export function defaultProvenanceApplies(outputs: OutputSpec[], env: Record<string, string | undefined>): boolean {
  if (['1', 't', 'true'].includes((env.BUILDX_NO_DEFAULT_ATTESTATIONS ?? '').trim().toLowerCase())) return false;
  return outputs.some((o) => (o.type === 'image' && o.push) || o.type === 'oci');
}
