// Which files a dependency-install command reads. A RUN that installs dependencies only needs these; copying the whole
// context before it makes every source edit re-run the install. The patterns are COPY sources (Go filepath.Match).

/** A package manager whose install step can run on its manifests alone. */
export interface Ecosystem {
  name: string;
  /** Matches the install command inside a RUN's shell text. */
  command: RegExp;
  /** What to COPY before the install; empty when the step needs nothing from the context (system packages). */
  manifests: string[];
}

/** Install commands we recognise, first match wins. */
export const ECOSYSTEMS: readonly Ecosystem[] = [
  { name: 'npm', command: /\bnpm\s+(ci|install|i)\b/, manifests: ['package*.json'] },
  { name: 'yarn', command: /\byarn(\s+install\b|\s*($|&&|;|\|))/, manifests: ['package.json', 'yarn.lock*'] },
  { name: 'pnpm', command: /\bpnpm\s+(install|i|fetch)\b/, manifests: ['package.json', 'pnpm-lock.yaml*'] },
  { name: 'pip', command: /\bpip3?\s+install\b/, manifests: ['requirements*.txt'] },
  { name: 'poetry', command: /\bpoetry\s+install\b/, manifests: ['pyproject.toml', 'poetry.lock*'] },
  { name: 'go', command: /\bgo\s+mod\s+download\b/, manifests: ['go.mod', 'go.sum'] },
  { name: 'cargo', command: /\bcargo\s+fetch\b/, manifests: ['Cargo.toml', 'Cargo.lock'] },
  { name: 'bundler', command: /\bbundle(\s+install\b|\s*($|&&|;|\|))/, manifests: ['Gemfile', 'Gemfile.lock'] },
  { name: 'maven', command: /\bmvn\b.*\bdependency:(go-offline|resolve)\b/, manifests: ['pom.xml'] },
  { name: 'composer', command: /\bcomposer\s+install\b/, manifests: ['composer.json', 'composer.lock*'] },
  { name: 'system packages', command: /\b(apt-get|apt|apk|dnf|yum|microdnf)\s+(install|add|update)\b/, manifests: [] },
];

/** The ecosystem a RUN command installs for, if any. */
export function ecosystemOf(command: string): Ecosystem | undefined {
  return ECOSYSTEMS.find((e) => e.command.test(command));
}

/** True when a changed file (context-relative path) is one of the manifests: then the install had to re-run. */
export function isManifest(path: string, manifests: readonly string[]): boolean {
  const base = path.split('/').at(-1) ?? path;
  return manifests.some((pattern) => globToRegExp(pattern).test(base));
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}
