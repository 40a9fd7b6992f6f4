import { goJsonCompact, UserError } from '../../common/index.js';
import type { Config } from './config.js';
import { flagFields } from '../options/csv-attrs.js';
import { tabWrite } from '../tab-writer.js';
import { formatNumber, isObject, type Value } from './value.js';

// `bake --list targets|variables` (also `type=targets,format=json`), as buildx's commands/bake.go prints them: a
// tabwriter table (tab-padded, tab width 8) or indented JSON.

/** buildx's table: tabwriter.NewWriter(out, 1, 8, 1, '\t', 0), one row a line. */
function tabTable(rows: string[][]): string {
  return `${tabWrite(rows.map((r) => r.join('\t')).join('\n'), { minwidth: 1, padding: 1, padchar: '\t', tabwidth: 8 })}\n`;
}

/** A value as buildx's Parse lists it: a primitive as text, a list or object as cty's JSON (keys sorted, Go's escapes). */
function valueText(v: Value): string | undefined {
  if (v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  return goJsonCompact(sortKeys(v));
}

function sortKeys(v: Value): Value {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k] ?? null)]));
  return v;
}

/** The `--list` output for `spec` (`targets`, `variables`, or `type=…[,format=table|json]`). */
export function listDefinitions(config: Config, spec: string): string {
  const fields = flagFields('--list', spec);
  let type = fields.length === 1 && fields[0] === spec && !spec.startsWith('type=') ? spec : '';
  let format = 'table';
  if (!type) {
    for (const f of fields) {
      const eq = f.indexOf('=');
      const key = f.slice(0, eq).trim().toLowerCase();
      if (eq < 0 || (key !== 'type' && key !== 'format')) throw new UserError('INVALID_ARGUMENT', `invalid --list value ${JSON.stringify(f)}`, 'write --list targets, --list variables or --list type=targets,format=json');
      if (key === 'type') type = f.slice(eq + 1); else format = f.slice(eq + 1);
    }
  }
  if (format !== 'table' && format !== 'json') throw new UserError('INVALID_ARGUMENT', `invalid --list format ${JSON.stringify(format)}`, 'use format=table or format=json');
  if (type === 'variables') {
    const vars = [...config.variables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((v) => ({ name: v.name, ...(v.description ? { description: v.description } : {}), ...(v.type ? { type: v.type } : {}), value: valueText(v.value) }));
    if (format === 'json') return `${JSON.stringify(vars, null, 2)}\n`;
    return tabTable([['VARIABLE', 'TYPE', 'VALUE', 'DESCRIPTION'], ...vars.map((v) => [v.name, v.type ?? '', v.value ?? '<null>', v.description ?? ''])]);
  }
  if (type !== 'targets') throw new UserError('INVALID_ARGUMENT', `invalid --list type ${JSON.stringify(type)}`, 'use targets or variables');
  const items = [
    ...config.targets.map((t) => ({ name: t.name, description: t.target.description ?? '', isGroup: false })),
    ...config.groups.map((g) => {
      const names = [...g.targets].sort().join(', ');
      return { name: g.name, description: names ? (g.description ? `${g.description} (${names})` : names) : (g.description ?? ''), isGroup: true };
    }),
  ].filter((i) => !i.name.startsWith('_')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (format === 'json') return `${JSON.stringify(items.map((i) => ({ name: i.name, ...(i.description ? { description: i.description } : {}), ...(i.isGroup ? { group: true } : {}) })), null, 2)}\n`;
  return tabTable([['TARGET', 'DESCRIPTION'], ...items.map((i) => [i.name, i.description])]);
}
