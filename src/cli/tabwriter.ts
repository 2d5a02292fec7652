/**
 * Go's text/tabwriter (elastic tabstops), which the docker CLI uses for every table:
 * cells are tab-terminated, a column block is a run of consecutive lines that have a cell in
 * that column, and its width is max(minwidth, widest cell + padding). Text after the last tab
 * of a line is not part of a column and is written as is. Only the options docker uses
 * (pad with spaces, left aligned, no flags) are implemented.
 */
export interface TabwriterOptions {
  minwidth: number;
  padding: number;
}

/** The docker CLI's tables: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const TABLE_OPTIONS: TabwriterOptions = { minwidth: 10, padding: 3 };

function width(text: string): number {
  // Go counts runes, not UTF-16 code units.
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export function tabwrite(text: string, opts: TabwriterOptions = TABLE_OPTIONS): string {
  const endsWithNewline = text.endsWith('\n');
  const rawLines = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  const lines = rawLines.map((l) => l.split('\t'));
  const widths: number[] = [];
  let out = '';

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i] ?? [];
      cells.forEach((cell, j) => {
        if (j < cells.length - 1 && j < widths.length) {
          out += cell + ' '.repeat(Math.max(0, (widths[j] ?? 0) - width(cell)));
        } else {
          out += cell;
        }
      });
      if (i < lines.length - 1 || endsWithNewline) out += '\n';
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= (lines[cur]?.length ?? 0) - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let w = opts.minwidth;
      for (; cur < line1; cur++) {
        const cells = lines[cur] ?? [];
        if (column >= cells.length - 1) break;
        const cw = width(cells[column] ?? '') + opts.padding;
        if (cw > w) w = cw;
      }
      widths.push(w);
      format(line0, cur);
      widths.pop();
      line0 = cur;
      cur--; // the outer loop re-examines the line that ended the block
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}
