// Credentials written into URLs (`https://user:password@host/…`, `https://TOKEN@host/…`), as a git remote, an ADD
// source, a proxy build arg or a registry's message may carry them: cut out of every message, record and report.

/** `url` with any password (and, over http(s), a token given as the user) replaced by `xxxxx`, for every message and record. */
export function redactUrl(url: string): string {
  return withUserinfo(url, (scheme, user, password) => {
    // A lone user over http(s) is usually a token (https://TOKEN@host/…); over ssh it is the login (git@…).
    if (password === undefined) return /^https?:/i.test(scheme) ? 'xxxxx' : user;
    return `${user}:xxxxx`;
  });
}

/**
 * `url` with its userinfo (user, and password after the first `:`) replaced by what `redact` makes of it; a string
 * that is no `scheme://` URL with one stays as it is. The userinfo ends at the authority's last `@`, as Go's url.Parse
 * and the WHATWG parser read it: a raw `@` in a password (`http://deploy:hunter2@Secret42@proxy`) is part of it.
 */
function withUserinfo(url: string, redact: (scheme: string, user: string, password: string | undefined) => string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)@/, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${redact(scheme, colon < 0 ? userinfo : userinfo.slice(0, colon), colon < 0 ? undefined : userinfo.slice(colon + 1))}@`;
  });
}

/** Every `scheme://user:password@` in a text (git's own messages repeat the URL) with its credentials redacted. */
export function redactText(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(/[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/\s?#"']*@/g, (m) => redactUrl(m));
}

/**
 * `url` as BuildKit's urlutil.RedactCredentials writes it: a user and a password both become `xxxxx`, the user too
 * (`https://xxxxx:xxxxx@host/…`, `ssh://xxxxx@host/…`), and what is no `scheme://` URL (git's `git@host:path`) stays
 * as it is. buildx sends a local checkout's remote so (`vcs:source`, util/gitutil GitCLI.RemoteURL) and BuildKit writes
 * it so into provenance: values other tools read and compare, where tsbuild's own messages use redactUrl above.
 */
export function redactCredentials(url: string): string {
  return withUserinfo(url, (_scheme, user, password) => `${user !== '' ? 'xxxxx' : ''}${password !== undefined ? ':xxxxx' : ''}`);
}
