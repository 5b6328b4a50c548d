/** A whole number as JSON writes it: harmless in a spreadsheet, whatever its sign. */
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** One RFC 4180 CSV cell; nested values are written as JSON. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // A leading =, +, - or @ would be a formula in a spreadsheet; a plain number (-12.5) is not.
  const safe = /^[=+\-@\t\r]/.test(text) && !NUMBER.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A list endpoint's CSV: the columns (from the item schema) and how to get the rows. */
export interface CsvShape<T> {
  columns: readonly string[];
  rows: (data: T) => readonly Record<string, unknown>[];
}

/** The CSV shape of the array property `list` of an object schema: its items' properties, in order. */
export function csvOf<T>(schema: { properties: Record<string, unknown> }, list: string): CsvShape<T> {
  const items = (schema.properties[list] as { items?: { properties?: Record<string, unknown> } } | undefined)
    ?.items;
  if (!items?.properties) throw new Error(`${list} is not an array of objects in this schema`);
  const columns = Object.keys(items.properties);
  return { columns, rows: (data) => (data as Record<string, Record<string, unknown>[]>)[list] ?? [] };
}

/** A header row always (an empty list is a header alone), then one line per row. */
export function toCsv<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): string {
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
