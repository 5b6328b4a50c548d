/** How the repositories feed a multi-row statement: its rows as one JSON parameter. */

/**
 * A `\u0000` escape in JSON.stringify's output, or a `\udXXX` one (JSON.stringify writes a lone
 * surrogate so, and a paired one as itself): one preceded by an even run of backslashes.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

/**
 * Rows as one JSON parameter, for json_to_recordset / json_array_elements_text (json, not jsonb:
 * each is read once, so converting it to jsonb first would be wasted work).
 *
 * PostgreSQL text cannot hold U+0000, nor its json a lone UTF-16 surrogate (half of a pair, as a
 * producer decoding bytes loosely may send), so a statement carrying one would fail whole (and a
 * message with one in a name, a key or its raw text could never be stored, not even as a dead
 * letter): each is stored as U+FFFD, the replacement character.
 */
export const json = (rows: unknown): string => {
  const text = JSON.stringify(rows);
  return text.includes('\\u') ? text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : text;
};

/** A text as the store keeps it (see json): U+0000 and lone surrogates become U+FFFD. */
export function storableText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/** An optional instant (ms since epoch) as a JSON value: absent is null. */
export const ms = (value: number | null | undefined): number | null => (value === undefined ? null : value);

const COPY_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};
/** What a text needs done before it goes into COPY: an escape, or storableText (most need nothing). */
// eslint-disable-next-line no-control-regex -- U+0000 is one of the characters looked for
const COPY_CARE = /[\\\t\n\r\u0000\ud800-\udfff]/;

/**
 * One row in COPY's text format (db.ts `copyRows`): fields separated by tabs, null as `\N`, and in
 * a text the backslash, tab, newline and carriage return escaped. Texts are stored as `json` stores
 * them (U+0000 and lone surrogates as U+FFFD).
 */
export function copyLine(fields: readonly (string | number | null)[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (i > 0) line += '\t';
    if (field === null || field === undefined) line += '\\N';
    else if (typeof field === 'number') line += String(field);
    else if (!COPY_CARE.test(field)) line += field;
    else line += storableText(field).replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] as string);
  }
  return `${line}\n`;
}

/**
 * An instant (ms since epoch) as COPY takes a timestamptz. PostgreSQL reads no year 0 (nor a
 * negative one) as text, where the service accepts times from 0000-01-01: astronomical year y is
 * year 1 − y BC there.
 */
export function copyInstant(ms: number): string {
  const iso = new Date(ms).toISOString();
  const year = new Date(ms).getUTCFullYear();
  if (year >= 1) return iso;
  return `${String(1 - year).padStart(4, '0')}${iso.slice(iso.indexOf('-', 1))} BC`;
}
