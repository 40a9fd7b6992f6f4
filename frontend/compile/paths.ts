import { cleanPath } from '../dockerignore.js';

/** WORKDIR: absolute paths are cleaned, relative ones resolve against the previous working directory. */
export function normalizeWorkdir(current: string, requested: string): string {
  const joined = requested.startsWith('/') ? requested : `${current || '/'}/${requested}`;
  return cleanPath(joined.startsWith('/') ? joined : `/${joined}`);
}

/** COPY/ADD destination against WORKDIR, keeping a trailing slash (it means "into this directory"). */
export function resolveDest(workdir: string, dest: string): string {
  let p = dest;
  if (p === '.' || p === '') p = './';
  const keepSlash = p.endsWith('/') || p.endsWith('/.');
  const abs = p.startsWith('/') ? cleanPath(p) : cleanPath(`${workdir || '/'}/${p}`);
  return keepSlash && abs !== '/' ? `${abs}/` : abs;
}
