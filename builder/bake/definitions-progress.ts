import { createProgress, type ProgressMode } from '../progress/index.js';
import type { BakeFile } from './config.js';

// buildx shows the reading of the bake files as a step of its own, before any target's (commands/bake.go
// readBakeFiles: progress.Wrap("[internal] load local bake definitions"), with " from BUILDX_BAKE_FILE env" when the
// environment named the files; bake.ReadLocalFiles: a status "reading NAME" per file, "reading from stdin" for -).
// CI logs are read for it (`#1 reading docker-bake.hcl`), and buildx's own tests look for those lines.

/** Shows the step that read `files` on the bake's display (nothing with --progress=quiet). */
export function showDefinitionsRead(mode: ProgressMode, files: BakeFile[], isFromEnv: boolean): void {
  if (mode === 'quiet') return;
  const out = createProgress(mode);
  const vertex = 'bake-definitions';
  const started = Date.now();
  out.event({ type: 'start', vertex, text: `[internal] load local bake definitions${isFromEnv ? ' from BUILDX_BAKE_FILE env' : ''}`, reasons: [], time: started });
  for (const f of files) {
    const size = Buffer.byteLength(f.text);
    out.event({ type: 'status', vertex, text: f.name === '-' ? 'reading from stdin' : `reading ${f.name}`, current: size, total: size, time: started });
  }
  const now = Date.now();
  out.event({ type: 'done', vertex, time: now, durationMs: now - started, size: 0 });
  // Only a terminal display needs closing (its last frame); the others' close would end with the build's summary
  // line (plain's `#- finished in`), and the targets' builds are still to come.
  if (mode === 'tty' || (mode === 'auto' && process.stderr.isTTY)) out.close();
}
