import { csvFields, CsvError, UserError } from '../../common/index.js';

// The command line's side of common/csv-fields.ts: a flag whose value is CSV fields (-o, --cache-to/--cache-from,
// --secret, --call, --attest, --driver-opt; bake's --list) reports a malformed value as its usage error, as buildx
// returns csvvalue's error from the flag's parser.

const CSV_HINT = 'separate fields with commas; quote a whole field that holds a comma or a quote ("name=a,b"), with a quote inside it doubled';

/** `err` as `flag`'s usage error when it is a CsvError; any other error as it is. */
export function csvUsageError(flag: string, text: string, err: unknown, hint = CSV_HINT): unknown {
  if (!(err instanceof CsvError)) return err;
  return new UserError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(text)}: ${err.message}`, hint, { cause: err });
}

/** The fields of `flag`'s value `text` (csvFields), a malformed value being the flag's usage error. */
export function flagFields(flag: string, text: string): string[] {
  try {
    return csvFields(text);
  } catch (err) {
    throw csvUsageError(flag, text, err);
  }
}

/**
 * `key=value,…` as buildx's --secret and --cache-to/--cache-from parsers read it (util/buildflags secrets.go
 * Secret.UnmarshalText, cache.go CacheOptionsEntry.UnmarshalText): every field key=value, split at its first `=`, the
 * key lower-cased and the value as written; a later field of the same key wins.
 */
export function parseCsvAttrs(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of flagFields(flag, text)) {
    const eq = field.indexOf('=');
    if (eq < 0) {
      throw new UserError('INVALID_ARGUMENT', `${flag} ${JSON.stringify(text)}: invalid field ${JSON.stringify(field)}: expected key=value`, CSV_HINT);
    }
    out[field.slice(0, eq).toLowerCase()] = field.slice(eq + 1);
  }
  return out;
}
