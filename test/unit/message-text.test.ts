/** A message sent to HTTP ingest as a JSON value, back as the text the parser reads. */
import { describe, expect, it } from 'vitest';
import { deepJsonText, messageText } from '../../src/ingest/message-text.ts';

describe('the raw text of an HTTP message', () => {
  it('keeps a string as it was sent, and writes any other value as JSON', () => {
    expect(messageText('{"type": "X"}')).toBe('{"type": "X"}');
    expect(messageText({ type: 'X', n: [1, null, 'a"b'] })).toBe('{"type":"X","n":[1,null,"a\\"b"]}');
  });

  it('writes what JSON.stringify writes, for every kind of value JSON.parse makes', () => {
    const value: unknown = JSON.parse(
      '{"a":[1,2.5,-3e-7,true,false,null,"\\u0000\\n\\"é😀"],"b":{},"c":[],"d":{"e":[{"f":[]}]},"__proto__":1}',
    );
    expect(deepJsonText(value)).toBe(JSON.stringify(value));
    for (const scalar of [0, 'x', null, true, []]) expect(deepJsonText(scalar)).toBe(JSON.stringify(scalar));
  });

  it('writes a message nested far deeper than JSON.stringify can go', () => {
    const depth = 100_000;
    const text = `{"type":"EventUpdated","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const value: unknown = JSON.parse(text);
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    expect(messageText(value)).toBe(text);
  });
});
