import type { Dockerfile, Flag, Instruction } from './ast.js';

// Prints a parsed Dockerfile back as text in a canonical layout: one line per instruction, flags first, heredoc bodies
// after their line. parseDockerfile(printDockerfile(df)) gives back the same instructions (not the same locations).

/** Canonical Dockerfile text for `df`. */
export function printDockerfile(df: Dockerfile): string {
  const out: string[] = df.directives.map((d) => `# ${d.name}=${d.value}`);
  for (const inst of df.instructions) out.push(printInstruction(inst, df.escapeToken));
  return out.join('\n') + '\n';
}

/** One instruction as text, heredoc bodies and terminators included. */
export function printInstruction(inst: Instruction, escapeToken: '\\' | '`' = '\\'): string {
  const head = [inst.keyword, ...inst.flags.map((f) => printFlag(f, escapeToken))];
  let body: string;
  if (inst.trigger) body = printInstruction(inst.trigger, escapeToken).split('\n')[0] ?? '';
  else if (inst.json) body = inst.keyword === 'HEALTHCHECK' ? `CMD ${JSON.stringify(inst.args.slice(1))}` : JSON.stringify(inst.args);
  else if (inst.legacyKeyValue) body = (inst.args[0] ?? '').replace('=', ' ');
  else body = inst.args.join(' ');
  // A shell-form command that starts with `--` would read as a flag: `--` ends the flags.
  if (!inst.json && body.startsWith('--')) head.push('--');
  const line = [...head, body].filter((p) => p !== '').join(' ');
  const docs = inst.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
  return line + docs;
}

function printFlag(flag: Flag, escapeToken: string): string {
  if (flag.value === undefined) return `--${flag.name}`;
  if (/^[^\s"'\\`]*$/.test(flag.value)) return `--${flag.name}=${flag.value}`;
  const escaped = flag.value.split('').map((c) => (c === '"' || c === escapeToken ? escapeToken + c : c)).join('');
  return `--${flag.name}="${escaped}"`;
}
