import type { Instruction } from '../ast.js';
import { DockerfileError } from '../errors.js';
import type { CopyOp, SourceRef } from '../graph.js';
import { chompHeredocContent, parseHeredocWord } from '../parser/heredoc.js';
import { resolveDest } from './paths.js';
import { Expander, pushVertex } from './stage-state.js';
import { stepName } from './step-name.js';
import type { DispatchContext, StageState } from './stage-state.js';

// COPY and ADD → CopyOp (BuildKit convert_copy.go). Sources and destination are expanded; --from is not.

/** Dispatches COPY or ADD. */
export function dispatchCopy(inst: Instruction, st: StageState, ctx: DispatchContext): void {
  const ex = new Expander(st, ctx, inst);
  const fail = (message: string, needle: string, hint?: string): never => {
    throw new DockerfileError(ctx.src.find(inst.location, needle), message, hint);
  };
  const flag = (name: string): string | undefined => {
    const v = inst.flags.find((f) => f.name === name);
    if (v === undefined) return undefined;
    return v.value === undefined ? 'true' : v.value;
  };
  const bool = (name: string): boolean => {
    const v = flag(name);
    return v !== undefined && v.toLowerCase() !== 'false';
  };
  const rawSources = inst.args.slice(0, -1);
  const rawDest = inst.args[inst.args.length - 1] ?? '';
  const heredocs = new Map(inst.heredocs.map((h) => [h.name, h]));
  const paths: string[] = [];
  const files: { name: string; content: string }[] = [];
  const shown: string[] = [];
  for (const raw of rawSources) {
    const doc = parseHeredocWord(raw);
    if (doc) {
      const h = heredocs.get(doc.name);
      let content = h ? (h.chomp ? chompHeredocContent(h.content) : h.content) : '';
      if (h?.expand) content = ex.word(content, { skipProcessQuotes: true, escapeToken: '\\' });
      files.push({ name: doc.name, content });
    } else {
      const p = ex.word(raw);
      paths.push(p);
      shown.push(p);
    }
  }
  const dest = ex.word(rawDest);
  let from: SourceRef = { kind: 'context' };
  const inputs = [st.parent];
  const fromRef = flag('from');
  if (fromRef !== undefined) {
    from = ctx.fromSource(fromRef, st, inst);
    if (from.kind === 'vertex') inputs.push(from.id);
  }
  if (files.length > 0) {
    if (paths.length > 0 || fromRef !== undefined) fail(`${inst.keyword} cannot mix heredoc sources with paths or --from`, '<<', 'split it into two instructions');
    from = { kind: 'inline', files };
  }
  const chown = flag('chown') === undefined ? undefined : ex.word(flag('chown') ?? '');
  const chmod = flag('chmod') === undefined ? undefined : ex.word(flag('chmod') ?? '');
  // A value that starts with a digit is read as octal by BuildKit (convert_copy.go, dispatchCopy; dchapes-mode
  // ParseWithUmask), so `64a` fails as a number would, not as a symbolic mode.
  if (chmod !== undefined && /^\d/.test(chmod) && (!/^[0-7]+$/.test(chmod) || Number.parseInt(chmod, 8) > 0o7777)) {
    fail(`invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`, chmod);
  }
  const checksum = flag('checksum') === undefined ? undefined : ex.word(flag('checksum') ?? '');
  if (checksum !== undefined && (paths.length !== 1 || !/^(https?:\/\/|git@|[\w.+-]+:\/\/)/.test(paths[0] ?? ''))) {
    fail('checksum requires a single HTTP(S) or Git source', '--checksum');
  }
  const op: CopyOp = {
    kind: 'copy',
    mode: inst.keyword === 'ADD' ? 'add' : 'copy',
    from,
    sources: files.length > 0 ? files.map((f) => f.name) : paths,
    dest: resolveDest(st.workdir, dest),
    link: bool('link'),
    parents: bool('parents'),
    exclude: inst.flags.filter((f) => f.name === 'exclude').map((f) => ex.word(f.value ?? '')),
  };
  if (chown !== undefined) op.chown = chown;
  if (chmod !== undefined) op.chmod = chmod;
  if (checksum !== undefined) op.checksum = checksum;
  if (bool('keep-git-dir')) op.keepGitDir = true;
  if (flag('unpack') !== undefined) op.unpack = bool('unpack');
  const text = [inst.keyword, ...(op.parents ? ['--parents'] : []), ...(chown ? [`--chown=${chown}`] : []), ...(chmod ? [`--chmod=${chmod}`] : []), ...shown, ...files.map((f) => `<<${f.name}`), dest].join(' ');
  pushVertex(st, ctx, { op, inputs, text: `${text} # buildkit`, name: stepName(inst, st, ctx), location: inst.location, args: Object.fromEntries(ex.used), emptyLayer: false });
}
