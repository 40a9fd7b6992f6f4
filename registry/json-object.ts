/**
 * A registry document's bytes as a JSON object, or the caller's own error (`bad`, given what is wrong): manifests
 * and image configs come from a server tsbuild does not trust, and each names its own document in the message.
 */
export function jsonObjectOf(bytes: Uint8Array, bad: (what: string) => Error): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object');
  return value as Record<string, unknown>;
}
