// One comma-separated value as buildx and BuildKit read every flag and attribute made of fields (-o, --cache-to,
// --secret, --call, --attest, --driver-opt, bake's output/cache/secret/attest, RUN --mount): tonistiigi/go-csvvalue's
// Fields, which is Go's encoding/csv for one record with its defaults (Comma ',', LazyQuotes and TrimLeadingSpace
// off). What that means for the person writing the value:
// - fields are split at every comma outside quotes; empty fields are kept (`a,,b` is three, `a,` two);
// - spaces are data: `a, b` is "a" and " b", and a quote after a space is a quote inside an unquoted field;
// - a field that starts with `"` runs to the next lone `"`, which must end the value or come right before a comma;
//   `""` inside it is one quote; `""` alone is an empty field;
// - a `"` anywhere else, or a quoted field left open, is an error; so is an empty value (csvvalue answers io.EOF);
// - one trailing newline (`\n` or `\r\n`) is dropped, as csvvalue allows for compatibility.

/**
 * A value that is not one CSV record: its `message` is Go's csv.ParseError text (`parse error on line 1, column 3:
 * bare " in non-quoted-field`), which buildx prints. Each caller turns it into its own error, with its flag or its
 * bake file's place.
 */
export class CsvError extends Error {
  /** 1-based byte offset in the value, as Go counts it; undefined for an empty value. */
  readonly column: number | undefined;
  constructor(message: string, column?: number) {
    super(message);
    this.name = 'CsvError';
    this.column = column;
  }
}

// encoding/csv's ErrBareQuote and ErrQuote texts.
const BARE_QUOTE = 'bare " in non-quoted-field';
const QUOTE = 'extraneous or missing " in quoted-field';

/**
 * The fields of `text` as go-csvvalue's Fields splits them; throws CsvError where Go's reader fails. `comma` is the
 * reader's Comma (buildx reads a typed bake variable's map entries with another one). `lazyQuotes`: Go's LazyQuotes
 * (buildx's `debug --invoke`): a quote inside an unquoted field is data, a lone one inside a quoted field too, and a
 * quoted field left open runs to the end.
 */
export function csvFields(text: string, comma = ',', lazyQuotes = false): string[] {
  const line = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (line === '') throw new CsvError('empty value: there are no fields (Go\'s csv reader: EOF)');
  // csv.ParseError counts bytes, 1-based, from the start of the value.
  const fail = (at: number, reason: string): never => {
    const column = Buffer.byteLength(line.slice(0, at)) + 1;
    throw new CsvError(`parse error on line 1, column ${column}: ${reason}`, column);
  };
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] !== '"') {
      const end = line.indexOf(comma, i);
      const field = line.slice(i, end < 0 ? undefined : end);
      const quote = field.indexOf('"');
      if (quote >= 0 && !lazyQuotes) fail(i + quote, BARE_QUOTE);
      out.push(field);
      if (end < 0) return out;
      i = end + comma.length;
      continue;
    }
    // A quoted field: text up to each lone quote, `""` standing for one quote.
    let field = '';
    i++;
    for (;;) {
      const quote = line.indexOf('"', i);
      if (quote < 0 && lazyQuotes) { out.push(field + line.slice(i)); return out; }
      if (quote < 0) fail(i, QUOTE);
      field += line.slice(i, quote);
      i = quote + 1;
      if (line[i] === '"') { field += '"'; i++; continue; }
      if (i === line.length) { out.push(field); return out; }
      if (!line.startsWith(comma, i)) {
        if (lazyQuotes) { field += '"'; continue; }
        fail(i - 1, QUOTE);
      }
      out.push(field);
      i += comma.length;
      break;
    }
  }
}
