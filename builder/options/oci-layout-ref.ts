import type { Digest } from '../../registry/oci/index.js';

/** A named context from a local OCI image layout, `oci-layout://DIR[:TAG][@sha256:…]`, as BuildKit writes one. */
export interface OciLayoutRef { dir: string; tag?: string; digest?: Digest }

/** The parts of `text`, or undefined when it is not such a reference. */
export function parseOciLayoutRef(text: string): OciLayoutRef | undefined {
  const m = /^oci-layout:\/\/(.+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(text);
  const dir = m?.[1];
  if (!m || dir === undefined) return undefined;
  return { dir, ...(m[2] !== undefined ? { tag: m[2] } : {}), ...(m[3] !== undefined ? { digest: m[3] as Digest } : {}) };
}

/** `r` as the reference text again. */
export function formatOciLayoutRef(r: OciLayoutRef): string {
  return `oci-layout://${r.dir}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}
