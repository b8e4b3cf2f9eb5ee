/**
 * What a log line is stored as. PostgreSQL's `text` cannot hold a NUL character (an insert
 * with one fails, and the whole batch with it), so every store writes each NUL of a line as
 * U+2400 SYMBOL FOR NULL (␀): the line is kept, reads back the same from every store, and the
 * place of the NUL stays visible. (A backslash escape would be ambiguous with lines that
 * already hold `\0` as text.) Documented in docs/tasks.md, "Logs".
 */
export const NUL_REPLACEMENT = '\u2400';

export function storableLine(line: string): string {
  return line.includes('\0') ? line.replaceAll('\0', NUL_REPLACEMENT) : line;
}
