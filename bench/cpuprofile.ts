/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`, e.g. from BENCH_CPU_PROF with bench:query):
 * self time by area (project file, package, Node internals, GC, idle), and the functions with the
 * most self and inclusive time, and how busy the thread was each second.
 * Usage: node --import tsx bench/cpuprofile.ts [--window=FROM-TO] <file.cpuprofile>...
 * where FROM-TO are seconds since the profile started (e.g. the load phase read off the timeline).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return url;
  const own = /\/((?:src|bench)\/.*)$/.exec(url);
  return own ? (own[1] as string) : url;
}

const frameName = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${area(n.callFrame.url, n.callFrame.functionName)}:${n.callFrame.lineNumber + 1}`;

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([k, us]) =>
        `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
}

const args = process.argv.slice(2);
const windowArg = args.find((a) => a.startsWith('--window='));
const [windowFrom, windowTo] = windowArg
  ? windowArg.slice('--window='.length).split('-').map(Number)
  : [0, Infinity];

for (const file of args.filter((a) => !a.startsWith('--'))) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfByArea = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const busyPerSecond: { busy: number; all: number }[] = [];
  let total = 0;
  let idle = 0;
  let clock = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    clock += us;
    const node = byId.get(id);
    if (!node) return;
    const second = Math.floor(clock / 1e6);
    const slot = (busyPerSecond[second] ??= { busy: 0, all: 0 });
    slot.all += us;
    if (node.callFrame.functionName !== '(idle)') slot.busy += us;
    if (second < (windowFrom ?? 0) || second >= (windowTo ?? Infinity)) return;
    total += us;
    if (node.callFrame.functionName === '(idle)') idle += us;
    const a = area(node.callFrame.url, node.callFrame.functionName);
    selfByArea.set(a, (selfByArea.get(a) ?? 0) + us);
    selfByFn.set(frameName(node), (selfByFn.get(frameName(node)) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (!n || n.callFrame.url === '') continue;
      const key = frameName(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  });
  const timeline = busyPerSecond.map(
    (s, i) => `${i}s:${s.all === 0 ? 0 : Math.round((100 * s.busy) / s.all)}%`,
  );
  console.log(`\n${file}\nbusy per second: ${timeline.join(' ')}`);
  console.log(
    `window ${windowArg ?? 'all'}: ${(total / 1000).toFixed(0)} ms sampled, ${(idle / 1000).toFixed(0)} ms idle`,
  );
  console.log('\nself time by area:');
  for (const l of top(selfByArea, total, 20)) console.log(l);
  console.log('\nself time by function:');
  for (const l of top(selfByFn, total, 30)) console.log(l);
  console.log('\ninclusive time by function (project code only):');
  const own = new Map([...inclusive].filter(([k]) => / (src|bench)\//.test(k)));
  for (const l of top(own, total, 30)) console.log(l);
}
