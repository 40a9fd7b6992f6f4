import { csvFields, CsvError } from '../../common/index.js';

/** An output as buildx's ExportEntry holds it, flattened: `type`, `dest` and the exporter's attributes. */
export type ExportEntry = Record<string, string>;

/**
 * One `-o` value (or a bake `output` string) as buildx's ExportEntry.UnmarshalText reads it (util/buildflags/export.go):
 * a value that is one CSV field written without quotes and not starting with `type=` is a destination: `-` a tar on
 * standard output, anything else a local directory, `=` and all (`-o dest=out` is a directory named `dest=out`, as
 * in buildx). Otherwise every field is key=value, the key trimmed and lower-cased, the value as written. `type` may
 * be missing: the caller says so in its own words. Throws CsvError for a malformed value or a field without `=`.
 */
export function parseExportEntry(text: string): ExportEntry {
  const fields = csvFields(text);
  if (fields.length === 1 && fields[0] === text && !text.startsWith('type=')) {
    return text === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: text };
  }
  const entry: ExportEntry = {};
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new CsvError(`invalid value ${JSON.stringify(field)}: expected key=value`);
    entry[field.slice(0, eq).trim().toLowerCase()] = field.slice(eq + 1);
  }
  return entry;
}
