/**
 * CSV as RFC 4180 writes it: a header row, CRLF after every record, a field quoted when it holds a
 * comma, a double quote, CR or LF (its quotes doubled). UTF-8 without a byte order mark. Values
 * map as in the JSON files: null is an empty field, an empty string is `""` (so the two stay
 * apart), numbers and booleans as JSON writes them, nested values (arrays, objects) as JSON text.
 */

export const CSV_LINE_END = '\r\n';

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text === '' || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRecord(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + CSV_LINE_END;
}
