/**
 * GETs for the benches (timed over one keep-alive connection, or raw on a connection of their
 * own) and the percentiles the benches report.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Answer {
  status: number;
  /** The header pairs as sent (names in their own case). */
  headers: [string, string][];
  body: Buffer;
  ms: number;
}

/** One GET, body read to the end, on `agent`'s connection or (false) one of its own. */
function request(url: string, headers: Record<string, string>, via: http.Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { agent: via, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
          pairs.push([res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string]);
        resolve({
          status: res.statusCode ?? 0,
          headers: pairs,
          body: Buffer.concat(chunks),
          ms: performance.now() - started,
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 30 s`)));
    req.on('error', reject);
  });
}

/** One GET on the shared keep-alive connection; resolves with the status and the milliseconds it took. */
export async function timedGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; ms: number; body: string }> {
  const { status, ms, body } = await request(url, headers, agent);
  return { status, ms, body: body.toString('utf8') };
}

/** `count` sequential GETs; throws on the first answer that is not a 200. */
export async function sample(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const { status, ms, body } = await timedGet(url, headers);
    if (status !== 200) throw new Error(`GET ${url} answered ${status}: ${body.slice(0, 300)}`);
    times.push(ms);
  }
  return times;
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** One GET on a connection of its own; the answer's raw header pairs and bytes, as sent. */
export function rawGet(url: string, headers: Record<string, string>): Promise<Answer> {
  return request(url, headers, false);
}

export function closeAgent(): void {
  agent.destroy();
}
