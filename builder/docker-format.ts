import { GoMap, TemplateError, executeTemplate, parseTemplate, type GoValue, type Template } from './imagetools/go-template.js';
import { DOCKER_CLI_TABLE, tabWrite } from './tab-writer.js';

// A `--format TEMPLATE` as docker's cli/command/formatter.Context writes a list (buildx's `ls`, `history ls`):
// `table TEMPLATE` renders the header (the template over the column titles) and a row per item, laid out by
// tabwriter(10, 1, 3); any other template is one line per item, unaligned. `\t` and `\n` written in the flag are a
// tab and a newline (preFormat), and a row gets a newline unless the template ends with one (contextFormat).

/** Whether a format is a table (formatter.Format.IsTable): the item's own fields may then be cut to fit. */
export function isTableFormat(format: string): boolean {
  return format.startsWith('table');
}

/**
 * The rows of `items` through `format`; `header` names each column's title. `wrap` turns a TemplateError into the
 * command's own error (its hint lists its fields).
 */
export async function formatList(format: string, header: Record<string, string>, items: GoValue[], wrap: (err: TemplateError) => unknown): Promise<string> {
  const isTable = isTableFormat(format);
  const source = (isTable ? format.slice('table'.length) : format).trim().replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const rethrow = (err: unknown): never => { throw err instanceof TemplateError ? wrap(err) : err; };
  let template: Template;
  try { template = parseTemplate(source); } catch (err) { return rethrow(err); }
  const run = async (data: GoValue): Promise<string> => {
    try { return await executeTemplate(template, data); } catch (err) { return rethrow(err); }
  };
  const rows: string[] = [];
  for (const item of items) rows.push(await run(item));
  const text = rows.map((r) => (source.endsWith('\n') ? r : `${r}\n`)).join('');
  if (!isTable) return text;
  return tabWrite(`${await run(new GoMap(new Map(Object.entries(header))))}\n${text}`, DOCKER_CLI_TABLE);
}
