/** How the repositories feed a multi-row statement: its rows as one JSON parameter. */

/** A `\u0000` escape in JSON.stringify's output: one preceded by an even run of backslashes. */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * Rows as one JSON parameter, for json_to_recordset / json_array_elements_text (json, not jsonb:
 * each is read once, so converting it to jsonb first would be wasted work).
 *
 * PostgreSQL text cannot hold U+0000, so a statement carrying one would fail whole (and a message
 * with one in a name, a key or its raw text could never be stored, not even as a dead letter): it
 * is stored as U+FFFD, the replacement character.
 */
export const json = (rows: unknown[]): string => {
  const text = JSON.stringify(rows);
  return text.includes('\\u0000') ? text.replace(NUL_ESCAPE, '$1\\ufffd') : text;
};

/** An optional instant (ms since epoch) as a JSON value: absent is null. */
export const ms = (value: number | null | undefined): number | null => (value === undefined ? null : value);
