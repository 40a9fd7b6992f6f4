import type { Digest } from '../registry/oci/index.js';
import type { ContentFact } from './cache-export.js';
import type { ContentDigest } from './ports.js';

/**
 * Content facts of loaded caches, found by the filesystem's chain or by the key of the step that made it (see
 * ContentFact). The first fact added for a name wins, as the first cache listed wins for records.
 */
export class ContentFacts {
  readonly #byChain = new Map<string, ContentDigest>();
  readonly #bySource = new Map<string, ContentDigest>();
  readonly #sources = new Set<Digest>();

  add(fact: ContentFact): void {
    if (fact.chain !== undefined) setOnce(this.#byChain, `${fact.chain} ${fact.selector}`, fact.digest);
    if (fact.source !== undefined) {
      setOnce(this.#bySource, `${fact.source} ${fact.selector}`, fact.digest);
      this.#sources.add(fact.source);
    }
  }

  get(at: { chain?: Digest; key?: Digest }, selector: Digest): ContentDigest | undefined {
    return (at.chain === undefined ? undefined : this.#byChain.get(`${at.chain} ${selector}`))
      ?? (at.key === undefined ? undefined : this.#bySource.get(`${at.key} ${selector}`));
  }

  hasContentOf(key: Digest): boolean {
    return this.#sources.has(key);
  }
}

function setOnce(map: Map<string, ContentDigest>, id: string, digest: ContentDigest): void {
  if (!map.has(id)) map.set(id, digest);
}
