// Credentials written into URLs (`https://user:password@host/…`, `https://TOKEN@host/…`), as a git remote, an ADD
// source, a proxy build arg or a registry's message may carry them: cut out of every message, record and report.

/** `url` with any password (and, over http(s), a token given as the user) replaced by `xxxxx`, for every message and record. */
export function redactUrl(url: string): string {
  // The userinfo ends at the authority's last `@`, as Go's url.Parse and the WHATWG parser read it: a raw `@` in a
  // password (`http://deploy:hunter2@Secret42@proxy`) is part of the password.
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)@/, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    // A lone user over http(s) is usually a token (https://TOKEN@host/…); over ssh it is the login (git@…).
    if (colon < 0) return `${scheme}${/^https?:/i.test(scheme) ? 'xxxxx' : userinfo}@`;
    return `${scheme}${userinfo.slice(0, colon)}:xxxxx@`;
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
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)@/, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (colon >= 0) return `${scheme}${user !== '' ? 'xxxxx' : ''}:xxxxx@`;
    return user !== '' ? `${scheme}xxxxx@` : `${scheme}@`;
  });
}
