/**
 * A realistic Evently message history for benches: a fixed set of events, then bookings created
 * over the last `days` days with Confirmed / Cancelled / Expired transitions, yielded in
 * occurrence-time order (as a live stream would deliver them) and fed through the real pipeline.
 * Seeded, so every size has the same shape: only the number of bookings differs.
 */
import type { Pipeline } from '../src/ingest/pipeline.ts';
import {
  bookingMessage,
  eventCreated,
  type BookingFacts,
  type BookingType,
} from '../test/support/messages.ts';
import { mulberry32 } from '../test/support/seeded-random.ts';

export interface DatasetSpec {
  bookings: number;
  events: number;
  /** Bookings are created over the `days` days ending at `endAt`. */
  days: number;
  endAt: number;
  seed: number;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CATEGORIES = ['music', 'sports', 'theatre', 'conference', 'comedy', 'workshop'];

interface Pending {
  at: number;
  raw: string;
}

/** A binary min-heap on `at`: later transitions wait here until the stream reaches their time. */
class Schedule {
  private readonly heap: Pending[] = [];
  get size(): number {
    return this.heap.length;
  }
  push(p: Pending): void {
    const h = this.heap;
    h.push(p);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Pending).at <= p.at) break;
      h[i] = h[parent] as Pending;
      i = parent;
    }
    h[i] = p;
  }
  peek(): Pending | undefined {
    return this.heap[0];
  }
  pop(): Pending | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mAt = last.at;
      if (l < h.length && (h[l] as Pending).at < mAt) {
        m = l;
        mAt = (h[l] as Pending).at;
      }
      if (r < h.length && (h[r] as Pending).at < mAt) m = r;
      if (m === i) break;
      h[i] = h[m] as Pending;
      i = m;
    }
    h[i] = last;
    return top;
  }
}

/** Every message of the dataset, in occurrence order. */
export function* datasetMessages(spec: DatasetSpec): Generator<string> {
  const random = mulberry32(spec.seed);
  const start = spec.endAt - spec.days * DAY;
  // Popularity falls off like Zipf, so rankings have a clear order; capacities scale with demand.
  const weights = Array.from({ length: spec.events }, (_, i) => 1 / (i + 1) ** 0.8);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w / weightSum));
  const prices: number[] = [];
  for (let i = 0; i < spec.events; i++) {
    const id = i + 1;
    const price = [15, 25, 40, 60, 90, 150][Math.floor(random() * 6)] as number;
    prices.push(price);
    const expectedTickets = ((weights[i] as number) / weightSum) * spec.bookings * 2.5;
    yield eventCreated({
      id,
      name: `${CATEGORIES[i % CATEGORIES.length] as string} night #${id}`,
      category: CATEGORIES[i % CATEGORIES.length] as string,
      capacity: Math.max(20, Math.round(expectedTickets * (0.9 + random() * 1.6))),
      price,
      createdAt: start - 30 * DAY + Math.floor(random() * 20 * DAY),
      eventDate: spec.endAt + Math.floor(random() * 180 * DAY),
    });
  }

  const users = Math.max(50, Math.floor(spec.bookings / 4));
  const schedule = new Schedule();
  const step = (spec.endAt - start) / spec.bookings;
  const later = (type: BookingType, b: BookingFacts, at: number) => {
    if (at < spec.endAt) schedule.push({ at, raw: bookingMessage(type, b, at) });
  };
  for (let n = 0; n < spec.bookings; n++) {
    const createdAt = Math.floor(start + (n + random()) * step);
    while ((schedule.peek()?.at ?? Infinity) <= createdAt) yield (schedule.pop() as Pending).raw;
    const u = random();
    let eventIndex = cumulative.findIndex((c) => c >= u);
    if (eventIndex < 0) eventIndex = spec.events - 1;
    const quantity = 1 + Math.floor(random() * random() * 5);
    const b: BookingFacts = {
      id: n + 1,
      eventId: eventIndex + 1,
      userId: 1 + Math.floor(random() * users),
      quantity,
      totalAmount: quantity * (prices[eventIndex] as number),
      createdAt,
    };
    yield bookingMessage('BookingCreated', b);
    const fate = random();
    if (fate < 0.65) {
      const confirmedAt = createdAt + Math.floor((1 + random() * 10) * MINUTE);
      later('BookingConfirmed', b, confirmedAt);
      if (random() < 0.08)
        later('BookingCancelled', b, confirmedAt + Math.floor((0.05 + random() * 20) * DAY));
    } else if (fate < 0.85) {
      later('BookingExpired', b, createdAt + 15 * MINUTE);
    } else if (fate < 0.93) {
      later('BookingCancelled', b, createdAt + Math.floor((5 + random() * 55) * MINUTE));
    }
    // else: still pending.
  }
  while (schedule.size > 0) yield (schedule.pop() as Pending).raw;
}

export interface LoadReport {
  messages: number;
  batches: number;
  seconds: number;
  processed: number;
  rejected: number;
}

/**
 * Feeds the dataset through `pipeline.processBatch` in batches of `batchSize`, building the next
 * batch while the previous one is being written.
 */
export async function loadDataset(
  pipeline: Pipeline,
  spec: DatasetSpec,
  batchSize: number,
  onProgress?: (messages: number, seconds: number) => void,
): Promise<LoadReport> {
  const started = performance.now();
  const report: LoadReport = { messages: 0, batches: 0, seconds: 0, processed: 0, rejected: 0 };
  let inFlight: Promise<void> | undefined;
  let batch: string[] = [];
  const flush = async (items: string[]) => {
    if (inFlight) await inFlight;
    inFlight = pipeline
      .processBatch(items.map((raw) => ({ raw, transport: 'stream' as const })))
      .then((r) => {
        report.messages += items.length;
        report.batches++;
        report.processed += r.counts.processed;
        report.rejected += r.counts.rejected;
        onProgress?.(report.messages, (performance.now() - started) / 1000);
      });
  };
  for (const raw of datasetMessages(spec)) {
    batch.push(raw);
    if (batch.length >= batchSize) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  await inFlight;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
