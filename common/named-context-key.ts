/**
 * The name a `--build-context` must have to stand for `ref` (a FROM, `--from` or stage name), as BuildKit's
 * dockerui NamedContext computes it: the reference in its familiar form (`docker.io/library/alpine` → `alpine`,
 * `docker.io/me/app` → `me/app`, `index.docker.io/…` likewise) without a trailing `:latest`. Text only: a reference
 * that does not parse is returned as written and simply matches a context of that exact name.
 */
export function namedContextKey(ref: string): string {
  let name = ref;
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (first === 'docker.io' || first === 'index.docker.io' || first === 'registry-1.docker.io') {
    name = name.slice(slash + 1);
    const rest = name.slice('library/'.length);
    if (name.startsWith('library/') && !rest.includes('/')) name = rest;
  }
  return name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name;
}
