/** Reads a live event stream (SSE) the way an EventSource would, keeping every `change` event. */
import http from 'node:http';

export interface ChangeEvent {
  /** The event's `id:` field, as sent. */
  id: string | undefined;
  data: { data_version: number; changed: string[] };
}

/** Opens the stream at `url` and collects its `change` events; rejects on any status but 200. */
export async function listen(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ events: ChangeEvent[]; close: () => void }> {
  const events: ChangeEvent[] = [];
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream answered ${res.statusCode}`));
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (/^event: change$/m.test(frame) && data)
            events.push({
              id: /^id: (.*)$/m.exec(frame)?.[1],
              data: JSON.parse(data) as ChangeEvent['data'],
            });
        }
      });
      resolve({ events, close: () => req.destroy() });
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? undefined : reject(error),
    );
  });
}
