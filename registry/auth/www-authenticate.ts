/** One challenge of a WWW-Authenticate header: the scheme (lowercase) and its parameters (names lowercase). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235 §4.1) into its challenges, e.g.
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`.
 * Quoted values may hold commas and escaped quotes; several challenges may share one header.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (re: RegExp): void => {
    while (i < n && re.test(header.charAt(i))) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header.charAt(i))) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skip(/[\s,]/);
    const word = token();
    if (word === '') {
      i++;
      continue;
    }
    skip(/\s/);
    if (header.charAt(i) === '=' && current !== undefined) {
      i++;
      skip(/\s/);
      current.params[word.toLowerCase()] = header.charAt(i) === '"' ? quoted() : token();
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;

  function quoted(): string {
    i++; // opening quote
    let value = '';
    while (i < n && header.charAt(i) !== '"') {
      if (header.charAt(i) === '\\' && i + 1 < n) i++;
      value += header.charAt(i);
      i++;
    }
    i++; // closing quote
    return value;
  }
}
