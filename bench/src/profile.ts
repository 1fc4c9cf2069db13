/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`) over one measured window: self time per function and per
 * category (our code, ioredis, node-redis, the peer libraries, the harness, Node internals, V8 builtins, GC).
 *
 * The profile's timestamps are V8 TimeTicks in microseconds, the same monotonic clock as
 * process.hrtime(): the child reports each window on that clock and only the samples inside it count, so module
 * loading, preloading and warm-up are left out.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ProfileSummary {
  contender: string;
  op: string;
  file: string;
  throughput: number;
  cpuPerOpUs: number;
  /** Sampled time in the window, ms. */
  sampledMs: number;
  samples: number;
  clipped: boolean;
  categories: { category: string; ms: number; share: number; usPerOp: number }[];
  top: { fn: string; where: string; category: string; ms: number; share: number }[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const PEERS = ['/keyv/', '/@keyv/', '/cache-manager/', '/@cacheable/', '/hookified/', '/bentocache/', '/@julr/', '/@boringnode/', '/lru-cache/', '/p-timeout/', '/async-mutex/', '/@poppinss/'];
const IOREDIS = ['/ioredis/', '/redis-parser/', '/denque/', '/standard-as-callback/', '/@ioredis/', '/redis-errors/', '/cluster-key-slot/', '/debug/'];

export function categorize(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native';
  if (url === '') return 'V8/native';
  if (url.includes('/node_modules/')) {
    if (url.includes('/@redis/')) return 'node-redis';
    if (IOREDIS.some((p) => url.includes(p))) return 'ioredis';
    if (PEERS.some((p) => url.includes(p))) return 'peer library';
    if (url.includes('/hdr-histogram-js/')) return 'harness';
    return 'other packages';
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/bench/src/')) return 'harness';
  if (url.includes('/src/') || url.includes('/generated/')) return 'ours';
  return 'other';
}

/** The repository's root, as profiles name its files: paths are shown from there, wherever the checkout is. */
const ROOT_PREFIX = `${resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')}/`;

function where(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return '';
  const short = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(ROOT_PREFIX, '');
  // tsx-compiled TypeScript reports no useful line: show the file only.
  return short.endsWith('.ts') ? short : `${short}:${frame.lineNumber + 1}`;
}

export function analyzeProfile(
  profile: CpuProfile,
  window: [number, number],
  meta: { contender: string; op: string; throughput: number; cpuPerOpUs: number; file: string },
): ProfileSummary {
  const frames = new Map<number, CallFrame>();
  for (const node of profile.nodes) frames.set(node.id, node.callFrame);
  const [from, to] = window;
  const clipped = from >= profile.startTime && to <= profile.endTime;
  const self = new Map<string, { frame: CallFrame; us: number }>();
  const byCategory = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  let samples = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const next = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1]! : 0;
    if (clipped && (t < from || t > to)) continue;
    const frame = frames.get(profile.samples[i]!)!;
    if (frame.functionName === '(root)') continue;
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = self.get(key) ?? { frame, us: 0 };
    entry.us += next;
    self.set(key, entry);
    const category = categorize(frame);
    byCategory.set(category, (byCategory.get(category) ?? 0) + next);
    total += next;
    samples++;
  }
  const busy = total - (byCategory.get('idle') ?? 0);
  const windowSeconds = (to - from) / 1e6;
  const ops = meta.throughput * windowSeconds;
  const categories = [...byCategory.entries()]
    .map(([category, us]) => ({ category, ms: us / 1000, share: us / Math.max(1, busy), usPerOp: ops ? us / ops : 0 }))
    .filter((c) => c.category !== 'idle')
    .sort((a, b) => b.ms - a.ms);
  const top = [...self.values()]
    .filter((e) => e.frame.functionName !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, 15)
    .map((e) => ({ fn: e.frame.functionName || '(anonymous)', where: where(e.frame), category: categorize(e.frame), ms: e.us / 1000, share: e.us / Math.max(1, busy) }));
  return { ...meta, sampledMs: busy / 1000, samples, clipped, categories, top };
}
