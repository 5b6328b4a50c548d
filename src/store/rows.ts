/** How the repositories feed a multi-row statement: its rows as one JSON parameter. */

/**
 * Rows as one JSON parameter, for json_to_recordset / json_array_elements_text (json, not jsonb:
 * each is read once, so converting it to jsonb first would be wasted work).
 */
export const json = (rows: unknown[]): string => JSON.stringify(rows);

/** An optional instant (ms since epoch) as a JSON value: absent is null. */
export const ms = (value: number | null | undefined): number | null => (value === undefined ? null : value);
