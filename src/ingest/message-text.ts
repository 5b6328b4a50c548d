/** How a message sent to HTTP ingest as a JSON value becomes the raw text every transport hands the parser. */

/**
 * A message object back as JSON text, for the parser to read as it reads every transport's.
 * JSON.stringify recurses, so a message nested a few thousand levels deep (which JSON.parse, not
 * recursive, accepted) overflows the stack: that one is written out by `deepJsonText` instead, so
 * it is kept and rejected like the same text from the stream, never a 500 for the whole call.
 */
export function messageText(message: unknown): string {
  if (typeof message === 'string') return message;
  try {
    return JSON.stringify(message);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return deepJsonText(message);
  }
}

/** JSON.stringify with a stack of its own, for the values JSON.parse makes (no undefined, no toJSON). */
export function deepJsonText(root: unknown): string {
  const out: string[] = [];
  const open: { close: string; entries: [string | undefined, unknown][]; at: number }[] = [];
  const write = (value: unknown): void => {
    if (Array.isArray(value)) {
      out.push('[');
      open.push({ close: ']', entries: value.map((v): [undefined, unknown] => [undefined, v]), at: 0 });
    } else if (typeof value === 'object' && value !== null) {
      out.push('{');
      open.push({ close: '}', entries: Object.entries(value), at: 0 });
    } else out.push(JSON.stringify(value));
  };
  write(root);
  for (let frame = open.at(-1); frame; frame = open.at(-1)) {
    const entry = frame.entries[frame.at];
    if (!entry) {
      out.push(frame.close);
      open.pop();
      continue;
    }
    if (frame.at++ > 0) out.push(',');
    if (entry[0] !== undefined) out.push(JSON.stringify(entry[0]), ':');
    write(entry[1]);
  }
  return out.join('');
}
