/**
 * What the diagnostics channels and redis-lua-cache/otel cost the hot path: `get` and `getOrSet` of fresh
 * entries and `set`, at a fixed number of operations in flight, in four variants, one process:
 *
 * - `base`: the library before the channels (git revision `OTEL_COST_BASE`, default f3541a8);
 * - `idle`: the library with its channels and nobody subscribed (the default of every application);
 * - `otel-noop`: `instrumentRedisLuaCache()` with the global OpenTelemetry API and no SDK (no-op tracer and meter);
 * - `otel-sdk`: `instrumentRedisLuaCache()` with the real SDK: a BasicTracerProvider with a BatchSpanProcessor
 *   into an exporter that drops the spans, and a MeterProvider whose reader aggregates (never exported).
 *
 * Both libraries are built from their sources with the project's `tsc -p tsconfig.build.json` into
 * bench/.otel-cost/ (removed at the end), as the package ships. The variants take turns, window after window,
 * so that background load spreads over all of them; figures are medians over the rounds. Client CPU is
 * `process.cpuUsage()` over a window. It starts its own redis-server on a free port.
 *
 * Usage (at the root): `npx tsx bench/src/otel-cost.ts`; `OTEL_COST_WINDOW_MS` (default 1000),
 * `OTEL_COST_ROUNDS` (default 5), `OTEL_COST_IN_FLIGHT` (default 64).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

import { startRedis } from '../../test/helpers/redis.js';
import { buildCopy, median, ROOT } from './build-copy.js';

type Lib = typeof import('../../src/index.js');
type Otel = typeof import('../../src/adapters/otel/index.js');

const WORK = join(ROOT, 'bench', '.otel-cost');
const BASE = process.env.OTEL_COST_BASE ?? 'f3541a8';
const WINDOW_MS = Number(process.env.OTEL_COST_WINDOW_MS ?? 1_000);
const ROUNDS = Number(process.env.OTEL_COST_ROUNDS ?? 5);
const IN_FLIGHT = Number(process.env.OTEL_COST_IN_FLIGHT ?? 64);
const KEYS = 1_000;
const OPERATIONS = ['get', 'getOrSet', 'set'] as const;
type Operation = (typeof OPERATIONS)[number];

const load = <T>(dist: string, path: string): Promise<T> => import(pathToFileURL(join(dist, path)).href) as Promise<T>;

/** An exporter that drops every span: what the SDK costs, not what shipping spans costs. */
const dropping: SpanExporter = {
  export: (_spans: ReadableSpan[], done) => done({ code: 0 }),
  shutdown: async () => undefined,
};

interface Window {
  ops: number;
  cpuUsPerOp: number;
}

/** Runs `operation` with IN_FLIGHT loops for WINDOW_MS on `backend`. */
async function measure(lib: Lib, backend: InstanceType<Lib['RedisBackend']>, operation: Operation): Promise<Window> {
  const keys = Array.from({ length: KEYS }, (_, index) => new lib.CacheKey('otel-cost', 1, [{ key: 'k', value: String(index) }]));
  const value = new lib.CacheValue({ id: 1, name: 'a value of about a hundred bytes, as in the headline cell of BENCHMARKS.md' }, null);
  const options = { ttl: 3_600_000 };
  const factory = async (): Promise<unknown> => value.data;
  const run = (index: number): Promise<unknown> => {
    const key = keys[index % KEYS]!;
    if (operation === 'get') return backend.get(key);
    if (operation === 'set') return backend.set(key, value);
    return backend.getOrSet(key, factory, options);
  };
  // Warm-up, then the window.
  let stopAt = Date.now() + WINDOW_MS * 0.3;
  let done = 0;
  const loop = async (start: number): Promise<void> => {
    for (let index = start; Date.now() < stopAt; index += IN_FLIGHT) {
      await run(index);
      done++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, index) => loop(index)));
  done = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  stopAt = Date.now() + WINDOW_MS;
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, index) => loop(index)));
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { ops: done / elapsed, cpuUsPerOp: (used.user + used.system) / done };
}

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  console.log(`building ${BASE} and the working tree into ${WORK} ...`);
  const baseDist = buildCopy(join(WORK, 'base'), BASE);
  const headDist = buildCopy(join(WORK, 'head'), null);
  const baseLib = await load<Lib>(baseDist, 'src/index.js');
  const headLib = await load<Lib>(headDist, 'src/index.js');
  const otel = await load<Otel>(headDist, 'src/adapters/otel/index.js');
  const redis = await startRedis();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })] });
  const base = baseLib.RedisBackend.builder().connection(baseLib.ConnectionMode.single(redis.url)).build();
  const head = headLib.RedisBackend.builder().connection(headLib.ConnectionMode.single(redis.url)).build();
  let instrumentation: ReturnType<Otel['instrumentRedisLuaCache']> | undefined;
  const variants = [
    { name: 'base', lib: baseLib, backend: base, setUp: () => undefined },
    { name: 'idle', lib: headLib, backend: head, setUp: () => undefined },
    { name: 'otel-noop', lib: headLib, backend: head, setUp: () => (instrumentation = otel.instrumentRedisLuaCache({ tracerProvider: trace.getTracerProvider(), meterProvider: metrics.getMeterProvider() })) },
    { name: 'otel-sdk', lib: headLib, backend: head, setUp: () => (instrumentation = otel.instrumentRedisLuaCache({ tracerProvider, meterProvider })) },
  ];
  const results = new Map<string, Window[]>();
  try {
    // Every key exists and is fresh, so that get and getOrSet are hits.
    for (let index = 0; index < KEYS; index++) await head.set(new headLib.CacheKey('otel-cost', 1, [{ key: 'k', value: String(index) }]), new headLib.CacheValue({ id: 1 }, null));
    console.log(`redis-server ${redis.url}; ${IN_FLIGHT} in flight, windows of ${WINDOW_MS} ms, ${ROUNDS} rounds`);
    // Round 0 warms every variant up (the JIT, the connections) and is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      for (const operation of OPERATIONS) {
        for (const variant of variants) {
          variant.setUp();
          const window = await measure(variant.lib, variant.backend, operation);
          instrumentation?.stop();
          instrumentation = undefined;
          const cell = `${operation} ${variant.name}`;
          if (round > 0) results.set(cell, [...(results.get(cell) ?? []), window]);
        }
      }
      console.log(round === 0 ? 'warm-up round done' : `round ${round} of ${ROUNDS} done`);
    }
  } finally {
    await base.close();
    await head.close();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    await redis.stop();
    rmSync(WORK, { recursive: true, force: true });
  }
  console.log('\n| operation | variant | ops/s (median) | vs base | client CPU µs/op | vs base |');
  console.log('|---|---|---|---|---|---|');
  for (const operation of OPERATIONS) {
    const baseWindows = results.get(`${operation} base`)!;
    const [baseOps, baseCpu] = [median(baseWindows.map((w) => w.ops)), median(baseWindows.map((w) => w.cpuUsPerOp))];
    for (const variant of variants) {
      const windows = results.get(`${operation} ${variant.name}`)!;
      const [ops, cpu] = [median(windows.map((w) => w.ops)), median(windows.map((w) => w.cpuUsPerOp))];
      console.log(`| ${operation} | ${variant.name} | ${Math.round(ops)} | ${(ops / baseOps).toFixed(3)} | ${cpu.toFixed(2)} | ${(cpu / baseCpu).toFixed(3)} |`);
    }
  }
}

await main();
