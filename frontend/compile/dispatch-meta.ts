import type { ContainerConfig, HealthConfig } from '../../registry/oci/index.js';
import type { Instruction } from '../ast.js';
import { DockerfileError } from '../errors.js';
import type { MetaOp } from '../graph.js';
import { formatGoDuration, goQuoteSlice, goSlice, parseGoDuration } from './go-format.js';
import { exposedPorts, PortSpecError } from './expose-port.js';
import { normalizeWorkdir } from './paths.js';
import { isStopSignal } from './stop-signal.js';
import { addConfigEnv, addEnv, Expander, pushVertex } from './stage-state.js';
import { stepName } from './step-name.js';
import type { DispatchContext, StageState } from './stage-state.js';

// Instructions that change only the image config (and WORKDIR, which also creates its directory). Each records the
// fields it set, with their new whole values, in MetaOp.change; `created_by` texts are BuildKit's (dockerfile2llb
// convert.go dispatch* functions).

// A windows image runs shell forms through cmd.exe (dockerfile2llb defaultshell.go, defaultShell), even when a
// Linux machine builds it: the config is what a Windows host runs.
const defaultShell = (os: string): string[] => (os === 'windows' ? ['cmd', '/S', '/C'] : ['/bin/sh', '-c']);

/** SHELL (or the platform's default shell) + the command joined with spaces, as BuildKit's withShell. */
export function withShell(st: Pick<StageState, 'config' | 'platform'>, args: string[]): string[] {
  const shell = st.config.Shell && st.config.Shell.length > 0 ? st.config.Shell : defaultShell(st.platform.os);
  return [...shell, args.join(' ')];
}

/** Dispatches one config-only instruction (or WORKDIR / ARG); false when `inst` is not one of them. */
export function dispatchMeta(inst: Instruction, st: StageState, ctx: DispatchContext): boolean {
  const ex = new Expander(st, ctx, inst);
  const meta = (change: Partial<ContainerConfig>, text: string, extra: Partial<MetaOp> = {}): void => {
    Object.assign(st.config, change);
    // A field reset to null leaves the config, as Go's omitempty writes BuildKit's (ENTRYPOINT's `Cmd: nil`).
    for (const [k, v] of Object.entries(change)) if (v === null) delete st.config[k as keyof ContainerConfig];
    pushVertex(st, ctx, { op: { kind: 'meta', change, ...extra }, inputs: [st.parent], text, location: inst.location, args: Object.fromEntries(ex.used), emptyLayer: true });
  };
  const fail = (message: string, hint?: string, needle = ''): never => {
    throw new DockerfileError(ctx.src.find(inst.location, needle), message, hint);
  };
  switch (inst.keyword) {
    case 'ENV': {
      // Every pair is expanded against the environment before this instruction: `ENV a=1 b=$a` gives b the old a.
      const pairs = expandPairs(inst.args, ex);
      let env = st.config.Env ?? [];
      for (const [key, value] of pairs) {
        if (key === '') fail('ENV names can not be blank', undefined, inst.original);
        addEnv(st.env, key, value);
        env = addConfigEnv(env, key, value);
      }
      meta({ Env: env }, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      return true;
    }
    case 'LABEL': {
      const pairs = expandPairs(inst.args, ex);
      const labels = { ...(st.config.Labels ?? {}) };
      for (const [key, value] of pairs) labels[key] = value;
      meta({ Labels: labels }, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      return true;
    }
    case 'CMD': {
      const args = inst.json ? inst.args : withShell(st, inst.args);
      st.cmdSet = true;
      meta({ Cmd: args, ArgsEscaped: true }, `CMD ${goQuoteSlice(args)}`);
      return true;
    }
    case 'ENTRYPOINT': {
      const args = inst.json ? inst.args : withShell(st, inst.args);
      // Docker: ENTRYPOINT resets a CMD inherited from the base image, but not one set earlier in this stage.
      meta(st.cmdSet ? { Entrypoint: args } : { Entrypoint: args, Cmd: null }, `ENTRYPOINT ${goQuoteSlice(args)}`);
      return true;
    }
    case 'EXPOSE': {
      // BuildKit sorts the words as written, before expansion (instructions/parse.go parseExpose: slices.Sort), so
      // history says `EXPOSE [1234/udp 2375/tcp 5000/tcp]` for `EXPOSE 2375 5000 1234/udp`.
      const ports = [...inst.args].sort().flatMap((p) => ex.words(p)).flatMap((p) => {
        try {
          return exposedPorts(p);
        } catch (err) {
          if (err instanceof PortSpecError) return fail(err.message, 'write EXPOSE <port>[-<end>][/tcp|/udp|/sctp]', p);
          throw err;
        }
      });
      const exposed = { ...(st.config.ExposedPorts ?? {}) };
      for (const p of ports) exposed[p] = {};
      meta({ ExposedPorts: exposed }, `EXPOSE ${goSlice(ports)}`);
      return true;
    }
    case 'VOLUME': {
      const vols = inst.args.map((v) => ex.word(v));
      if (vols.some((v) => v === '')) fail('VOLUME specified can not be an empty string');
      const volumes = { ...(st.config.Volumes ?? {}) };
      for (const v of vols) volumes[v] = {};
      meta({ Volumes: volumes }, `VOLUME ${goSlice(vols)}`);
      return true;
    }
    case 'USER': {
      const user = ex.word(inst.args[0] ?? '');
      st.user = user;
      meta({ User: user }, `USER ${user}`);
      return true;
    }
    case 'STOPSIGNAL': {
      const sig = ex.word(inst.args[0] ?? '');
      if (!isStopSignal(sig)) fail(`invalid signal: ${sig}`, 'use a signal name such as SIGTERM or SIGQUIT, or its non-zero number', sig);
      meta({ StopSignal: sig }, `STOPSIGNAL ${sig}`);
      return true;
    }
    case 'SHELL':
      meta({ Shell: inst.args }, `SHELL ${goSlice(inst.args)}`);
      return true;
    case 'HEALTHCHECK': {
      const health = healthConfig(inst, fail);
      meta({ Healthcheck: health }, `HEALTHCHECK ${healthText(health)}`);
      return true;
    }
    case 'ONBUILD': {
      // BuildKit only appends the trigger to the config: ONBUILD leaves no history entry and no step of its own.
      const expr = inst.original.replace(/^\s*ONBUILD\s*/i, '') + inst.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
      st.config.OnBuild = [...(st.config.OnBuild ?? []), expr];
      return true;
    }
    case 'MAINTAINER': {
      const author = inst.args[0] ?? '';
      meta({}, `MAINTAINER ${author}`, { author });
      return true;
    }
    case 'WORKDIR': {
      const wd = normalizeWorkdir(st.workdir, ex.word(inst.args[0] ?? ''));
      st.workdir = wd;
      st.config.WorkingDir = wd;
      const text = `WORKDIR ${wd}`;
      const args = Object.fromEntries(ex.used);
      if (wd === '/') meta({ WorkingDir: wd }, text);
      else pushVertex(st, ctx, { op: { kind: 'mkdir', path: wd, user: st.user }, inputs: [st.parent], text, name: stepName(inst, st, ctx), location: inst.location, args, emptyLayer: false });
      return true;
    }
    case 'ARG':
      // BuildKit writes `ARG k=v` into history (docker history shows it) with the value the build uses: the
      // --build-arg value, else the default expanded, else a same-named global ARG's (dispatchArg in convert.go).
      meta({}, `ARG ${dispatchArg(inst, st, ctx, ex).join(' ')}`);
      return true;
    default:
      return false;
  }
}

function expandPairs(args: string[], ex: Expander): [string, string][] {
  return args.map((pair) => {
    const eq = pair.indexOf('=');
    return [ex.word(pair.slice(0, eq)), ex.word(pair.slice(eq + 1))];
  });
}

// ARG: --build-arg wins, then the default (expanded), then a same-named global ARG. Returns history's `k[=value]`.
function dispatchArg(inst: Instruction, st: StageState, ctx: DispatchContext, ex: Expander): string[] {
  const commit: string[] = [];
  for (const word of inst.args) {
    const eq = word.indexOf('=');
    const key = eq >= 0 ? word.slice(0, eq) : word;
    // A default is expanded only when no --build-arg replaces it, so `ARG BAR=${FOO:?missing}` fails only when BAR
    // is left to its default (dispatchArg in convert.go processes the word in its `else if hasDefault` branch).
    const value = Object.hasOwn(ctx.buildArgs, key) ? ctx.buildArgs[key]
      : eq >= 0 ? ex.word(word.slice(eq + 1)) : ctx.globalArgs.get(key);
    commit.push(value === undefined ? key : `${key}=${value}`);
    // A re-declared ARG keeps its first place in RUN's `|N k=v` history prefix (BuildKit runCommandString).
    const existing = st.args.findIndex((a) => a.key === key);
    if (existing >= 0) st.args[existing] = { key, value };
    else st.args.push({ key, value });
    if (value !== undefined) addEnv(st.env, key, value);
  }
  return commit;
}

function healthConfig(inst: Instruction, fail: (m: string, h?: string, n?: string) => never): HealthConfig {
  if (inst.args[0] === 'NONE') return { Test: ['NONE'] };
  const cmd = inst.args.slice(1);
  const health: HealthConfig = { Test: inst.json ? ['CMD', ...cmd] : ['CMD-SHELL', ...cmd] };
  const dur = (name: string): number => {
    const v = inst.flags.find((f) => f.name === name)?.value;
    if (v === undefined || v === '') return 0;
    const ns = parseGoDuration(v);
    if (ns === undefined) return fail(`invalid duration "${v}" for --${name}`, 'durations look like 30s, 1m30s or 500ms', v);
    if (ns !== 0 && ns < 1e6) return fail(`Interval "${name}" cannot be less than 1ms`, undefined, v);
    return ns;
  };
  // Zero fields are left out, as Go's omitempty on every HealthcheckConfig field writes BuildKit's config.
  const set = (field: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval' | 'Retries', value: number): void => {
    if (value !== 0) health[field] = value;
  };
  set('Interval', dur('interval'));
  set('Timeout', dur('timeout'));
  set('StartPeriod', dur('start-period'));
  set('StartInterval', dur('start-interval'));
  const retries = inst.flags.find((f) => f.name === 'retries')?.value;
  if (retries !== undefined && retries !== '') {
    if (!/^-?\d+$/.test(retries)) return fail(`invalid --retries value "${retries}"`, undefined, retries);
    if (Number(retries) < 0) return fail(`--retries cannot be negative (${retries})`, undefined, retries);
    set('Retries', Number(retries));
  }
  return health;
}

// Go's %+v of BuildKit's HealthcheckConfig struct.
function healthText(h: HealthConfig): string {
  if (h.Test?.[0] === 'NONE') return '{Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}';
  const d = (n: number | undefined): string => formatGoDuration(n ?? 0);
  return `{Test:${goSlice(h.Test ?? [])} Interval:${d(h.Interval)} Timeout:${d(h.Timeout)} StartPeriod:${d(h.StartPeriod)} StartInterval:${d(h.StartInterval)} Retries:${h.Retries ?? 0}}`;
}
