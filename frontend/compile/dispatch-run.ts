import type { Instruction } from '../ast.js';
import { DockerfileError } from '../errors.js';
import type { ExecOp, RunMount, SourceRef } from '../graph.js';
import { chompHeredocContent } from '../parser/heredoc.js';
import { parseHeredocWord } from '../parser/heredoc.js';
import { withShell } from './dispatch-meta.js';
import { MountError, parseMountSpec, toRunMount } from './mounts.js';
import { Expander, pushVertex } from './stage-state.js';
import { stepName, summarizeHeredoc } from './step-name.js';
import type { DispatchContext, StageState } from './stage-state.js';

// RUN → ExecOp. Arguments are not expanded here: the shell in the container does that, with the ARGs in scope in its
// environment (BuildKit dispatchRun).

/**
 * Proxy build args are predefined: usable without an ARG line, given to RUN but kept out of history. A build arg
 * whose name is one of these in any case gives RUN both spellings, upper and lower case, as BuildKit's
 * proxyEnvFromBuildArgs (strings.EqualFold) and its executor's proxyEnvList do: curl reads only http_proxy, Go only
 * HTTPS_PROXY or https_proxy.
 */
const PROXY_ARGS = ['http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy'];

/** Dispatches RUN. */
export function dispatchRun(inst: Instruction, st: StageState, ctx: DispatchContext): void {
  const ex = new Expander(st, ctx, inst);
  const fail = (message: string, needle: string, hint?: string): never => {
    throw new DockerfileError(ctx.src.find(inst.location, needle), message, hint);
  };
  const mounts: RunMount[] = [];
  const inputs = [st.parent];
  let argv = inst.args;
  let heredocSummary = '';
  if (inst.heredocs.length > 0) {
    const first = inst.heredocs[0];
    if (first && parseHeredocWord(argv[0] ?? '') !== undefined && argv.length === 1) {
      heredocSummary = ` (${summarizeHeredoc(first.content)})`;
      const data = first.chomp ? chompHeredocContent(first.content) : first.content;
      if (data.startsWith('#!')) {
        // A script with a shebang runs as a file, mounted where BuildKit mounts it.
        mounts.push({ type: 'bind', target: '/dev/pipes/', from: { kind: 'inline', files: [{ name: first.name, content: data }] }, source: '/', readwrite: false });
        argv = [`/dev/pipes/${first.name}`];
      } else argv = [data];
    } else {
      argv = [(argv[0] ?? '') + inst.heredocs.map((h) => `\n${h.content}${h.name}`).join('')];
    }
  }
  if (!inst.json) argv = withShell(st, argv);
  let network: ExecOp['network'] = 'default';
  let security: ExecOp['security'] = 'sandbox';
  inst.flags.forEach((flag) => {
    const value = flag.value ?? '';
    if (flag.name === 'mount') {
      try {
        const spec = parseMountSpec(value, (v) => ex.word(v));
        let from: SourceRef | undefined;
        if (spec.from !== undefined) {
          from = ctx.fromSource(spec.from, st, inst);
          if (from.kind === 'vertex') inputs.push(from.id);
        }
        const mount = toRunMount(spec, from, mounts.filter((m) => m.type === 'ssh').length);
        // BuildKit's dockerui CacheIDNamespace: one runner can keep, say, each branch's caches apart.
        const namespace = ctx.buildArgs['BUILDKIT_CACHE_MOUNT_NS'];
        if (mount.type === 'cache' && namespace) mount.namespace = namespace;
        mounts.push(mount);
      } catch (err) {
        if (err instanceof MountError) fail(`invalid --mount: ${err.message}`, flag.raw, err.hint ?? 'see https://docs.docker.com/reference/dockerfile/#run---mount');
        throw err;
      }
    } else if (flag.name === 'network') {
      const v = ex.word(value);
      if (v !== 'default' && v !== 'none' && v !== 'host') fail(`unsupported network mode "${v}"`, flag.raw, 'use --network=default, none or host');
      network = v as ExecOp['network'];
    } else if (flag.name === 'security') {
      const v = ex.word(value);
      if (v !== 'sandbox' && v !== 'insecure') fail(`unsupported security mode "${v}"`, flag.raw, 'use --security=sandbox or insecure');
      security = v as ExecOp['security'];
    } else if (flag.name === 'device') {
      fail('RUN --device is not supported by tsbuild', flag.raw);
    }
  });
  const env = st.env.map(([k, v]) => `${k}=${v}`);
  const proxyEnv: string[] = [];
  for (const p of PROXY_ARGS) {
    const given = Object.keys(ctx.buildArgs).find((k) => k.toLowerCase() === p);
    const v = given === undefined ? undefined : ctx.buildArgs[given];
    if (v === undefined || v === '') continue;
    for (const name of [p.toUpperCase(), p]) if (!st.env.some(([k]) => k === name)) proxyEnv.push(`${name}=${v}`);
  }
  // History shows every ARG in scope as `|N K=v …` before the command (BuildKit runCommandString).
  const args: Record<string, string> = {};
  const envMap = new Map(st.env);
  for (const a of st.args) args[a.key] = envMap.get(a.key) ?? a.value ?? '';
  const argText = st.args.length > 0 ? `|${st.args.length} ${st.args.map((a) => `${a.key}=${args[a.key] ?? ''}`).join(' ')} ` : '';
  const hostname = ctx.buildArgs['BUILDKIT_SANDBOX_HOSTNAME'];
  const op: ExecOp = {
    kind: 'exec', argv, env, ...(proxyEnv.length > 0 ? { proxyEnv } : {}), cwd: st.workdir, user: st.user, mounts, network, security,
    ...(hostname ? { hostname } : {}),
  };
  const secretEnv = mounts.flatMap((m) => (m.type === 'secret' && m.env !== undefined ? [m.env] : []));
  const name = stepName(inst, st, ctx, secretEnv, heredocSummary);
  pushVertex(st, ctx, { op, inputs, text: `RUN ${argText}${argv.join(' ')} # buildkit`, name, location: inst.location, args: { ...Object.fromEntries(ex.used), ...args }, emptyLayer: false });
}
