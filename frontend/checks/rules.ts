import type { Dockerfile, Instruction } from '../ast.js';
import { isSecretName } from '../secret-name.js';
import { AUTOMATIC_ARG_NAMES } from '../compile/platform-args.js';
import { prevComments } from '../prev-comments.js';
import { nearest } from '../parser/suggest.js';

/** One finding of a build check, as BuildKit's linter reports it: the rule, a short explanation, where. */
export interface CheckWarning {
  rule: string;
  message: string;
  file: string;
  line: number;
  column: number;
  /** The last line of the instruction it is about (BuildKit's range ends there). */
  endLine: number;
}

/** ARGs every build defines without an ARG line (BuildKit's automatic platform args and proxy args). */
const PREDEFINED_ARGS = new Set([
  ...AUTOMATIC_ARG_NAMES,
  'HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy',
]);

/** The first of `names` that looks like it holds a secret (the one rule of frontend/secret-name.ts), if any. */
const secretNameIn = (names: string[]): string | undefined => names.find((n) => n !== '' && isSecretName(n));

const firstWord = (inst: Instruction): string => inst.original.trim().split(/\s+/)[0] ?? inst.keyword;

/** `$NAME` / `${NAME…}` references in a word. */
function varsIn(text: string): string[] {
  return [...text.matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** Splits `FROM [--platform=…] image [AS name]` as written. */
function fromParts(inst: Instruction): { image: string; asWord?: string; name?: string } {
  return { image: inst.args[0] ?? '', ...(inst.args[1] !== undefined ? { asWord: inst.args[1] } : {}), ...(inst.args[2] !== undefined ? { name: inst.args[2] } : {}) };
}

/**
 * The checks BuildKit runs on a Dockerfile (dockerfile frontend linter), evaluated on the syntax tree and, for the
 * comments above an instruction, the text's `lines`. Experimental rules are found here too; the caller keeps them
 * only when `# check=experimental=` enables them.
 */
export function runRules(df: Dockerfile, lines: string[]): CheckWarning[] {
  const out: CheckWarning[] = [];
  const warn = (rule: string, inst: Instruction, message: string): void => {
    out.push({ rule, message, file: df.file, line: inst.location.line, column: inst.location.column, endLine: inst.location.endLine });
  };
  const directiveLines = new Set(df.directives.map((d) => d.location.line));
  // InvalidDefinitionDescription (experimental), as BuildKit's validateDefinitionDescription (instructions/parse.go)
  // runs it for `FROM … AS name` and ARG: the last comment right above must start with one of the names defined, as
  // its first space-separated word. Which comments those are: prevComments. `# <arg_key>` when ARG defines several.
  const checkDescription = (inst: Instruction, keyword: 'FROM' | 'ARG', names: string[]): void => {
    const last = prevComments(lines, inst.location.line, directiveLines).at(-1);
    if (last === undefined || names.length === 0 || names.includes(last.split(' ')[0] ?? '')) return;
    const example = names.length > 1 ? '<arg_key>' : (names[0] ?? '');
    warn('InvalidDefinitionDescription', inst, `Comment for ${keyword} should follow the format: \`# ${example} <description>\``);
  };

  // NoEmptyContinuation: BuildKit turns its parser's warnings into this rule before any other.
  for (const inst of df.instructions) {
    const at = inst.emptyContinuation;
    if (at) out.push({ rule: 'NoEmptyContinuation', message: 'Empty continuation line', file: df.file, line: at.line, column: at.column, endLine: at.line });
  }

  // ConsistentInstructionCasing: every keyword in the majority's case (upper or lower).
  const words = df.instructions.map(firstWord);
  const upper = words.filter((w) => w === w.toUpperCase()).length;
  const lower = words.filter((w) => w === w.toLowerCase()).length;
  const wantUpper = upper >= lower;
  df.instructions.forEach((inst, i) => {
    const w = words[i] ?? '';
    if (wantUpper ? w !== w.toUpperCase() : w !== w.toLowerCase()) {
      warn('ConsistentInstructionCasing', inst, `Command '${w}' should match the case of the command majority (${wantUpper ? 'uppercase' : 'lowercase'})`);
    }
  });

  const globalArgs = new Map<string, boolean>();   // name → has a default
  const stageNames = new Map<string, number>();
  let inStage = false;
  let counts = new Map<string, Instruction>();
  // What BuildKit's dispatchState carries into a stage built FROM an earlier one: whether a WORKDIR was set
  // (workdirSet) and whether the config has a SHELL (JSONArgsRecommended is about /bin/sh -c only).
  const stageState = new Map<string, { workdirSet: boolean; shellSet: boolean }>();
  let state = { workdirSet: false, shellSet: false };
  for (const inst of df.instructions) {
    switch (inst.keyword) {
      case 'FROM': {
        inStage = true;
        counts = new Map();
        const { image, asWord, name } = fromParts(inst);
        state = { ...(stageState.get(image.toLowerCase()) ?? { workdirSet: false, shellSet: false }) };
        if (name !== undefined && !stageState.has(name.toLowerCase())) stageState.set(name.toLowerCase(), state);
        if (asWord !== undefined) {
          const fromUpper = firstWord(inst) === firstWord(inst).toUpperCase();
          if (fromUpper !== (asWord === asWord.toUpperCase())) warn('FromAsCasing', inst, `'${asWord}' and '${firstWord(inst)}' keywords' casing do not match`);
        }
        if (name !== undefined) {
          if (name !== name.toLowerCase()) warn('StageNameCasing', inst, `Stage name '${name}' should be lowercase`);
          const lowered = name.toLowerCase();
          if (lowered === 'scratch' || lowered === 'context') warn('ReservedStageName', inst, `Stage name should not use the same name as reserved stage ${JSON.stringify(lowered)}`);
          const previous = stageNames.get(lowered);
          if (previous !== undefined) warn('DuplicateStageName', inst, `Duplicate stage name ${JSON.stringify(lowered)}, stage names should be unique`);
          else stageNames.set(lowered, inst.location.line);
          checkDescription(inst, 'FROM', [lowered]);   // BuildKit's stage Name is lower-cased (parseBuildStageName)
        }
        const platform = inst.flags.find((f) => f.name === 'platform')?.value;
        if (platform !== undefined) platformRules(platform, name?.toLowerCase() ?? '', (rule, message) => warn(rule, inst, message));
        for (const v of varsIn([image, ...inst.flags.map((f) => f.value ?? '')].join(' '))) {
          if (PREDEFINED_ARGS.has(v)) continue;
          if (!globalArgs.has(v)) {
            const guess = nearest(v, [...PREDEFINED_ARGS, ...globalArgs.keys()], { caseSensitive: true });
            warn('UndefinedArgInFrom', inst, `FROM argument '${v}' is not declared${guess ? ` (did you mean ${guess}?)` : ''}`);
          }
        }
        break;
      }
      case 'ARG':
        checkDescription(inst, 'ARG', inst.args.map((word) => word.split('=')[0] ?? ''));
        for (const word of inst.args) {
          const name = word.split('=')[0] ?? '';
          if (!inStage) globalArgs.set(name, word.includes('=') && word.slice(word.indexOf('=') + 1) !== '');
          // BuildKit checks the names in dispatchArg, which a global ARG (before the first FROM) never reaches.
          const secret = inStage ? secretNameIn([name]) : undefined;
          if (secret) warn('SecretsUsedInArgOrEnv', inst, `Do not use ARG or ENV instructions for sensitive data (ARG "${secret}")`);
        }
        break;
      case 'ENV': {
        // Every key, as dispatchEnv checks each pair (the legacy `ENV key value` has one).
        const keys = inst.legacyKeyValue === true ? inst.args.slice(0, 1) : inst.args.map((a) => a.split('=')[0] ?? '');
        for (const key of keys) {
          const secret = secretNameIn([key]);
          if (secret) warn('SecretsUsedInArgOrEnv', inst, `Do not use ARG or ENV instructions for sensitive data (ENV "${secret}")`);
        }
        if (inst.legacyKeyValue === true) warn('LegacyKeyValueFormat', inst, '"ENV key=value" should be used instead of legacy "ENV key value" format');
        break;
      }
      case 'LABEL':
        if (inst.legacyKeyValue === true) warn('LegacyKeyValueFormat', inst, '"LABEL key=value" should be used instead of legacy "LABEL key value" format');
        break;
      case 'EXPOSE':
        for (const port of inst.args) exposeRules(port, (rule, message) => warn(rule, inst, message));
        break;
      case 'MAINTAINER':
        warn('MaintainerDeprecated', inst, 'Maintainer instruction is deprecated in favor of using label');
        break;
      case 'WORKDIR': {
        // Only the first WORKDIR of a stage (or of the stages it is built on) is checked, as BuildKit's
        // dispatchWorkdir: fixing it fixes every later relative one.
        const dir = inst.args[0] ?? '';
        if (!state.workdirSet && !dir.startsWith('/') && !dir.startsWith('$')) {
          warn('WorkdirRelativePath', inst, `Relative workdir "${dir}" can have unexpected results if the base image changes`);
        }
        state.workdirSet = true;
        break;
      }
      case 'CMD':
      case 'ENTRYPOINT':
        // Only for the default shell, as dispatchCmd/dispatchEntrypoint: a stage that set SHELL chose its own.
        if (!inst.json && !state.shellSet) warn('JSONArgsRecommended', inst, `JSON arguments recommended for ${inst.keyword} to prevent unintended behavior related to OS signals`);
        countOnce(inst, counts, warn);
        break;
      case 'HEALTHCHECK':
        countOnce(inst, counts, warn);
        break;
      case 'SHELL':
        state.shellSet = true;
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * FROM --platform (BuildKit's validations.go): RedundantTargetPlatform when the value is exactly $TARGETPLATFORM (the
 * default anyway); FromPlatformFlagConstDisallowed when it is a constant platform and the stage's name mentions
 * neither its OS nor its architecture (a stage named for the platform it pins is deliberate).
 */
function platformRules(platform: string, stageName: string, warn: (rule: string, message: string) => void): void {
  if (/^\$(TARGETPLATFORM|\{TARGETPLATFORM\})$/.test(platform)) {
    warn('RedundantTargetPlatform', `Setting platform to predefined ${platform} in FROM is redundant as this is the default behavior`);
    return;
  }
  if (platform.includes('$')) return;
  const p = constPlatform(platform);
  if (p === undefined || stageName.includes(p.os) || stageName.includes(p.arch)) return;
  warn('FromPlatformFlagConstDisallowed', `FROM --platform flag should not use constant value "${platform}"`);
}

const OSES = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'android', 'ios', 'plan9', 'js', 'wasip1']);
const ARCHES: Record<string, string> = {
  amd64: 'amd64', x86_64: 'amd64', 'x86-64': 'amd64', arm64: 'arm64', aarch64: 'arm64', arm: 'arm', armhf: 'arm', armel: 'arm',
  '386': '386', i386: '386', i686: '386', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64le: 'mips64le', loong64: 'loong64',
};

/** A platform as containerd's platforms.Parse reads it (`os[/arch[/variant]]`, or an architecture alone), else undefined. */
function constPlatform(text: string): { os: string; arch: string } | undefined {
  const [a = '', b] = text.toLowerCase().split('/');
  if (OSES.has(a)) return { os: a, arch: b === undefined ? '' : (ARCHES[b] ?? b) };
  const arch = ARCHES[a];
  return arch !== undefined && b === undefined ? { os: 'linux', arch } : undefined;
}

/** EXPOSE (BuildKit's convert_expose.go): the protocol in upper case, or an IP or host port in the spec. */
function exposeRules(raw: string, warn: (rule: string, message: string) => void): void {
  if (raw.includes('$')) return;   // expanded at build time; the build reports what it becomes
  const parts = raw.split(':');
  const hostPart = parts.length > 1 ? parts.slice(0, -1).join(':') : '';
  const [port = '', proto = ''] = (parts[parts.length - 1] ?? '').split('/');
  if (port === '' || !['', 'tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) return;   // compile refuses it
  if (proto !== proto.toLowerCase()) warn('ExposeProtoCasing', `Defined protocol '${raw}' in EXPOSE instruction should be lowercase`);
  if (hostPart !== '') warn('ExposeInvalidFormat', `EXPOSE instruction should not define an IP address or host-port mapping, found '${raw}'`);
}

/**
 * MultipleInstructionsDisallowed: a second CMD, ENTRYPOINT or HEALTHCHECK in one stage overrides the first; reported
 * at the one it overrides, as BuildKit's validateUsedOnce ("the one that will be ignored").
 */
function countOnce(inst: Instruction, seen: Map<string, Instruction>, warn: (rule: string, inst: Instruction, message: string) => void): void {
  const previous = seen.get(inst.keyword);
  seen.set(inst.keyword, inst);
  if (previous !== undefined) warn('MultipleInstructionsDisallowed', previous, `Multiple ${inst.keyword} instructions should not be used in the same stage because only the last one will be used`);
}

