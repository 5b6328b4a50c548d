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
export const json = (rows: unknown[]): string => {
  const text = JSON.stringify(rows);
  return text.includes('\\u') ? text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : text;
};

/** A text as the store keeps it (see json): U+0000 and lone surrogates become U+FFFD. */
export function storableText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/** An optional instant (ms since epoch) as a JSON value: absent is null. */
export const ms = (value: number | null | undefined): number | null => (value === undefined ? null : value);
