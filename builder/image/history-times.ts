import type { History } from '../../registry/oci/index.js';

/**
 * Gives every history entry without a time one, as BuildKit's exporter does (exporter/containerimage/writer.go,
 * normalizeLayersAndHistory): dockerfile2llb records no time for its steps; the exporter gives each layer its
 * snapshot's creation time, then an entry still without one (a config-only step) takes the time of the layer before
 * it, or, before the first of the build's layers, that layer's. An image whose build added no layer is as old as its
 * base's last entry. Entries are changed in place; returns the last entry's time, which the exporter makes the
 * config's `created`.
 */
export function fillHistoryTimes(history: History[]): string | undefined {
  // The first time after the first entry without one, else the last time seen.
  let created: string | undefined;
  let seenMissing = false;
  for (const h of history) {
    if (h.created !== undefined) {
      created = h.created;
      if (seenMissing) break;
    } else {
      seenMissing = true;
    }
  }
  seenMissing = false;
  for (const h of history) {
    if (h.created !== undefined) {
      if (seenMissing) created = h.created;
    } else {
      seenMissing = true;
      if (created !== undefined) h.created = created;
    }
  }
  return history.at(-1)?.created;
}
