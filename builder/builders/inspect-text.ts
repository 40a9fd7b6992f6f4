import { goBytesSize } from '../../common/index.js';
import { tabWrite } from '../tab-writer.js';
import { formatPlatformGroups, type BuilderView } from './view.js';

// `tsbuild inspect` as buildx's commands/inspect.go prints it: tabwriter(0, 0, 1), the builder's Name and Driver,
// then each node's Name, Endpoint, Status, BuildKit version, Platforms, Labels and GC policy rules. Last Activity is
// printed only when known, and tsbuild keeps none per builder.

/** The text of `inspect` for one builder. */
export function inspectText(b: BuilderView): string {
  const lines = [`Name:\t${b.name}`, `Driver:\t${b.driver}`, '', 'Nodes:'];
  b.nodes.forEach((n, i) => {
    if (i !== 0) lines.push('');
    lines.push(`Name:\t${n.name}`, `Endpoint:\t${n.endpoint}`);
    const opts = Object.keys(n.driverOpts).sort().map((k) => `${k}=${JSON.stringify(n.driverOpts[k])}`);
    if (opts.length > 0) lines.push(`Driver Options:\t${opts.join(' ')}`);
    lines.push(`Status:\t${n.status}`);
    if (n.flags.length > 0) lines.push(`BuildKit daemon flags:\t${n.flags.join(' ')}`);
    if (n.version !== '') lines.push(`BuildKit version:\t${n.version}`);
    const pfs = formatPlatformGroups(n);
    if (pfs.length > 0) lines.push(`Platforms:\t${pfs.join(', ')}`);
    const labels = Object.keys(n.labels).sort();
    if (labels.length > 0) lines.push('Labels:', ...labels.map((k) => `\t${k}:\t${n.labels[k]}`));
    n.gcPolicy.forEach((rule, ri) => {
      lines.push(`GC Policy rule#${ri}:`, `\tAll:\t${rule.all}`);
      if (rule.filter && rule.filter.length > 0) lines.push(`\tFilters:\t${rule.filter.join(' ')}`);
      if (rule.reservedSpace > 0) lines.push(`\tReserved Space:\t${goBytesSize(rule.reservedSpace)}`);
      if (rule.maxUsedSpace > 0) lines.push(`\tMax Used Space:\t${goBytesSize(rule.maxUsedSpace)}`);
      if (rule.minFreeSpace > 0) lines.push(`\tMin Free Space:\t${goBytesSize(rule.minFreeSpace)}`);
    });
  });
  return `${tabWrite(lines.join('\n'), { minwidth: 0, padding: 1 })}\n`;
}
