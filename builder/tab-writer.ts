// Go's text/tabwriter, the part docker and buildx print their tables and `inspect` text with: cells end with a tab,
// the text after a line's last tab is not a cell. A column is aligned over a *block*: consecutive lines that all have
// a cell in it; a line with fewer cells (an empty line, a heading such as "Nodes:") ends the block. A cell is
// padded to max(minwidth, widest cell + padding). See go/src/text/tabwriter/tabwriter.go, format() and writePadding().

/**
 * The options of tabwriter.NewWriter(w, minwidth, tabwidth, padding, padchar, 0). With padchar '\t' (buildx's `bake
 * --list`) a column is as wide as the next multiple of tabwidth and cells are padded with tabs; with ' ' (the
 * default: docker's tables, `inspect`), with spaces, and tabwidth does not matter.
 */
export interface TabWriterOptions { minwidth: number; padding: number; padchar?: ' ' | '\t'; tabwidth?: number }

/** What docker's CLI formats its tables with (cli/command/formatter: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)). */
export const DOCKER_CLI_TABLE: TabWriterOptions = { minwidth: 10, padding: 3 };

const width = (s: string): number => [...s].length;

/** `text` (lines with tab-terminated cells) laid out as Go's tabwriter lays it out with space padding. */
export function tabWrite(text: string, opts: TabWriterOptions): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  // Each line's cells: every part but the last ends with a tab; the last is trailing text.
  const widths: number[][] = lines.map((parts) => parts.slice(0, -1).map(() => 0));
  layout(lines, widths, 0, 0, lines.length, opts);
  const pad = (p: string, cellw: number): string => {
    if (opts.padchar !== '\t') return p.padEnd(p.length + cellw - width(p));
    const tab = opts.tabwidth ?? 8;
    return p + '\t'.repeat(Math.ceil((Math.ceil(cellw / tab) * tab - width(p)) / tab));
  };
  return lines.map((parts, i) => parts.map((p, c) => (c < parts.length - 1 ? pad(p, widths[i]?.[c] ?? 0) : p)).join('')).join('\n');
}

/** Sets the width of column `col` for each block inside lines [from, to), then the next column inside each block. */
function layout(lines: string[][], widths: number[][], col: number, from: number, to: number, opts: TabWriterOptions): void {
  let i = from;
  while (i < to) {
    if ((lines[i]?.length ?? 0) - 1 <= col) { i++; continue; }
    const start = i;
    let w = opts.minwidth;
    for (; i < to && (lines[i]?.length ?? 0) - 1 > col; i++) w = Math.max(w, width(lines[i]?.[col] ?? '') + opts.padding);
    for (let j = start; j < i; j++) (widths[j] as number[])[col] = w;
    layout(lines, widths, col + 1, start, i, opts);
  }
}
