// @drivers ioredis node-redis
/**
 * getOrSet across processes: real child processes (test/fixtures/get-or-set-child.ts), each with a backend of
 * its own, stampede one key at once. Single node: a cold key computed once for all of them, a stale key
 * served at once while one refresh runs deployment-wide, a lease holder SIGKILLed mid-factory taken over
 * after lockTimeout. The same on a 3-primary cluster (keys on every primary), and a failover while a factory
 * holds the lease (a manual CLUSTER FAILOVER, then a primary's process killed).
 *
 * Every factory call is reported by its child as it starts (so even a call of a process killed later is
 * counted), which is how the factory calls are counted across processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { CacheValue, ConnectionMode, type RedisBackend } from '../../src/index.js';
import type { CallOutcome, ChildConfig, ChildMessage, FactoryEvent, ParentMessage, RunRequest } from '../fixtures/get-or-set-child.js';
import { stampedeKey } from '../fixtures/get-or-set-child.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder, DRIVER } from '../helpers/driver.js';
import { startRedis, type RedisUnderTest } from '../helpers/redis.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = join(ROOT, 'test', 'fixtures', 'get-or-set-child.ts');
const CHILDREN = 4;
const CALLERS = 100;
/** The stale-key refresh: long enough that a caller that waited for it could not pass for one answered at once. */
const REFRESH_MS = 1_000;

const now = (): number => performance.timeOrigin + performance.now();

// Whatever happens to this process, no child outlives it.
const livePids = new Set<number>();
process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

interface RunResult {
  readonly child: string;
  readonly calls: readonly CallOutcome[];
  readonly reported: readonly string[];
}

/** Rejects with a message naming `what` when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns true; throws after `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let probes = 0;

class Child {
  readonly #process: ChildProcess;
  readonly #results = new Map<string, (result: RunResult) => void>();
  readonly #exited: Promise<void>;
  #exitReason: string | undefined;

  private constructor(
    readonly name: string,
    events: EventEmitter,
    config: ChildConfig,
  ) {
    this.#process = fork(CHILD, [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, GET_OR_SET_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (this.#process.pid !== undefined) livePids.add(this.#process.pid);
    this.#exited = new Promise((resolve) => {
      this.#process.once('exit', (code, signal) => {
        if (this.#process.pid !== undefined) livePids.delete(this.#process.pid);
        this.#exitReason = `child ${name} exited (${signal ?? code})`;
        events.emit('exit', name);
        resolve();
      });
    });
    this.#process.on('message', (message: ChildMessage) => {
      if (message.type === 'result') this.#results.get(message.run)?.(message);
      events.emit(message.type, message);
    });
  }

  static async spawn(name: string, events: EventEmitter, config: Omit<ChildConfig, 'name'>): Promise<Child> {
    const child = new Child(name, events, { ...config, name });
    await within(
      new Promise<void>((resolve, reject) => {
        const onReady = (message: { child: string }): void => {
          if (message.child !== name) return;
          events.off('ready', onReady);
          resolve();
        };
        events.on('ready', onReady);
        void child.#exited.then(() => reject(new Error(child.#exitReason)));
      }),
      30_000,
      `child ${name} ready`,
    );
    return child;
  }

  /** Starts `request` in the child; resolves with its callers' outcomes, rejects if the child exits first. */
  run(request: Omit<RunRequest, 'type'>): Promise<RunResult> {
    const result = new Promise<RunResult>((resolve, reject) => {
      this.#results.set(request.run, resolve);
      void this.#exited.then(() => reject(new Error(this.#exitReason)));
    });
    // A run the test stops waiting for (a failed assertion, a killed child) must not crash the file.
    result.catch(() => undefined);
    this.#send({ type: 'run', ...request });
    return result;
  }

  /** Whether this child's backend reads `key` without an error (so it knows the node that owns it now). */
  probe(key: string): Promise<boolean> {
    const probe = ++probes;
    const answer = within(
      new Promise<boolean>((resolve) => {
        const listener = (message: ChildMessage): void => {
          if (message.type !== 'probe' || message.probe !== probe) return;
          this.#process.off('message', listener);
          resolve(message.error === undefined);
        };
        this.#process.on('message', listener);
      }),
      10_000,
      `child ${this.name}: probe`,
    );
    this.#send({ type: 'probe', probe, key });
    return answer;
  }

  open(run: string): void {
    this.#send({ type: 'open', run });
  }

  #send(message: ParentMessage): void {
    if (this.#exitReason !== undefined) throw new Error(this.#exitReason);
    this.#process.send(message);
  }

  /** SIGKILLs the child, as a crash would, and resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.#exitReason === undefined) this.#process.kill('SIGKILL');
    await this.#exited;
  }

  /** Closes the child's backend and lets it exit; SIGKILLs it if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.#exitReason !== undefined) return;
    this.#process.send({ type: 'close' } satisfies ParentMessage);
    await within(this.#exited, 5_000, `child ${this.name} exit`).catch(() => this.kill());
  }
}

/** The children of one suite, and every factory call any of them reported. */
class Fleet {
  readonly events = new EventEmitter();
  readonly factoryEvents: FactoryEvent[] = [];
  readonly #started = new Set<string>();
  children: Child[] = [];

  constructor() {
    this.events.setMaxListeners(100);
    this.events.on('factory', (event: FactoryEvent) => this.factoryEvents.push(event));
    this.events.on('started', (message: { child: string; run: string }) => this.#started.add(`${message.child}/${message.run}`));
  }

  async spawn(names: readonly string[], config: Omit<ChildConfig, 'name'>): Promise<Child[]> {
    const spawned = await Promise.all(names.map((name) => Child.spawn(name, this.events, config)));
    this.children.push(...spawned);
    return spawned;
  }

  /** The factory calls that started in `run` (on `key`, if given). */
  starts(run: string, key?: string): FactoryEvent[] {
    return this.factoryEvents.filter((event) => event.run === run && event.phase === 'start' && (key === undefined || event.key === key));
  }

  /** Resolves with the first factory event (already seen or still to come) that matches. */
  factoryEvent(what: string, matches: (event: FactoryEvent) => boolean, ms = 10_000): Promise<FactoryEvent> {
    const seen = this.factoryEvents.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return within(
      new Promise<FactoryEvent>((resolve) => {
        const listener = (event: FactoryEvent): void => {
          if (!matches(event)) return;
          this.events.off('factory', listener);
          resolve(event);
        };
        this.events.on('factory', listener);
      }),
      ms,
      what,
    );
  }

  /** Resolves once every child in `children` has issued all its calls of `run` (already or still to come). */
  started(run: string, children: readonly Child[]): Promise<void> {
    const done = (): boolean => children.every((child) => this.#started.has(`${child.name}/${run}`));
    if (done()) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => {
        const listener = (): void => {
          if (!done()) return;
          this.events.off('started', listener);
          resolve();
        };
        this.events.on('started', listener);
      }),
      10_000,
      `calls of ${run} started`,
    );
  }

  /** Runs `request` in every child in `children` at once. */
  runAll(children: readonly Child[], request: Omit<RunRequest, 'type'>): Promise<RunResult[]> {
    const results = Promise.all(children.map((child) => child.run(request)));
    results.catch(() => undefined);
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.children.map((child) => child.close()));
  }
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;

function assertNoErrors(results: readonly RunResult[]): void {
  const errors = results.flatMap((result) => result.calls.filter((call) => call.error !== undefined).map((call) => `${result.child}: ${call.error}`));
  assert.equal(errors.slice(0, 5), [], `no caller rejects (${errors.length} did)`);
}

/**
 * A cold-key stampede over `keys`: every child runs CALLERS concurrent getOrSet per key with a `factoryMs` factory.
 * Asserts one factory call per key and one value per key; reports latencies.
 */
async function coldStampede(fleet: Fleet, label: string, run: string, keys: readonly string[], factoryMs = 50): Promise<void> {
  const results = await within(
    fleet.runAll(fleet.children, { run, keys, callers: CALLERS, options: { ttl: 60_000, lockTimeout: 5_000 }, factory: { kind: 'delay', ms: factoryMs } }),
    20_000,
    run,
  );
  assertNoErrors(results);
  const latencies: number[] = [];
  const waiterLatencies: number[] = [];
  for (const key of keys) {
    const starts = fleet.starts(run, key);
    assert.is(starts.length, 1, `${key}: the factory ran once across ${CHILDREN} processes (ran in ${starts.map((s) => s.child).join(', ')})`);
    const [factory] = starts as [FactoryEvent];
    const end = await fleet.factoryEvent(`${key}: factory end`, (event) => event.value === factory.value && event.phase === 'end');
    for (const result of results) {
      const calls = result.calls.filter((call) => call.key === key);
      assert.is(calls.length, CALLERS);
      for (const call of calls) assert.is(call.value, factory.value, `${result.child}: every caller gets the one value`);
      // Else the "stampede" would be callers arriving after the value landed, and once would prove nothing.
      const firstStart = Math.min(...calls.map((call) => call.start));
      assert.ok(firstStart < end.at, `${result.child}'s callers started before the factory ended (${ms(end.at - firstStart)} before)`);
      latencies.push(...calls.map((call) => call.end - call.start));
    }
    // The holder's callers answer once its fill has stored the value: their first answer is the store.
    const holderCalls = results.find((result) => result.child === factory.child)!.calls.filter((call) => call.key === key);
    const storedAt = Math.min(...holderCalls.map((call) => call.end));
    const lastWaiter = Math.max(...results.filter((result) => result.child !== factory.child).flatMap((result) => result.calls.filter((call) => call.key === key).map((call) => call.end)));
    waiterLatencies.push(lastWaiter - storedAt);
  }
  latencies.sort((a, b) => a - b);
  const worstWaiter = Math.max(...waiterLatencies);
  console.log(
    `  ${label}: ${keys.length} key(s) x ${CHILDREN} processes x ${CALLERS} callers, ${factoryMs} ms factory: 1 factory call per key; ` +
      `caller latency p50 ${ms(percentile(latencies, 0.5))}, p99 ${ms(percentile(latencies, 0.99))}, max ${ms(latencies.at(-1)!)}; ` +
      `last waiter after the holder's store: ${waiterLatencies.map(ms).join(', ')}`,
  );
  // Waiters poll at 5, 10, 20, then every 40 ms however long the factory takes: the last one learns of the
  // value within one poll period.
  assert.ok(worstWaiter < 100, `every waiter answers within 100 ms of the store (${ms(worstWaiter)})`);
}

/**
 * Stale keys: every child calls at once; every caller answers at once with the stale value, one refresh runs
 * per key deployment-wide, and once it landed every caller reads the new value without another factory call.
 */
async function staleStampede(fleet: Fleet, backend: RedisBackend, label: string, run: string, keys: readonly string[], hasLease: (key: string) => Promise<boolean>): Promise<void> {
  const written = Date.now();
  for (const key of keys) await backend.set(stampedeKey(key), new CacheValue(`old ${key}`, new Date(written + 60_000), new Date(written - 1_000)));
  const options = { ttl: 60_000, staleAfter: 30_000, lockTimeout: 5_000 };
  const results = await within(fleet.runAll(fleet.children, { run, keys, callers: CALLERS, options, factory: { kind: 'delay', ms: REFRESH_MS } }), 20_000, run);
  assertNoErrors(results);
  const latencies = results.flatMap((result) => result.calls.map((call) => call.end - call.start)).sort((a, b) => a - b);
  for (const result of results) for (const call of result.calls) assert.is(call.value, `old ${call.key}`, 'every caller gets the stale value');
  const slowest = results.flatMap((result) => result.calls.map((call) => ({ child: result.child, ...call }))).sort((a, b) => b.end - b.start - (a.end - a.start))[0]!;
  assert.ok(
    latencies.at(-1)! < 250,
    `every caller answers at once, not after the ${REFRESH_MS} ms refresh (slowest ${ms(latencies.at(-1)!)}: ${slowest.child} on ${slowest.key}, refreshes by ${fleet.starts(run).map((event) => `${event.child} on ${event.key}`).join(', ')})`,
  );

  // Callers that come while the refresh runs find its lease: stale value, no refresh of their own.
  const during = await within(fleet.runAll(fleet.children, { run: `${run}-during`, keys, callers: 10, options, factory: { kind: 'delay', ms: REFRESH_MS } }), 10_000, `${run}-during`);
  assertNoErrors(during);
  for (const result of during) for (const call of result.calls) assert.is(call.value, `old ${call.key}`, 'while the refresh runs, callers get the stale value');

  for (const key of keys) {
    // The refresh's start is reported before its caller answers, so it is counted by now if it ran.
    const [refresh, ...more] = fleet.starts(run, key);
    assert.ok(refresh !== undefined && more.length === 0, `${key}: one refresh deployment-wide (${fleet.starts(run, key).length})`);
    const refreshed = await fleet.factoryEvent(`${key}: refresh end`, (event) => event.value === refresh.value && event.phase === 'end');
    const lastAnswer = Math.max(...[...results, ...during].flatMap((result) => result.calls.filter((call) => call.key === key).map((call) => call.end)));
    assert.ok(lastAnswer < refreshed.at, `${key}: every caller had its answer before the refresh ended (${ms(refreshed.at - lastAnswer)} before)`);
    await until(`${key}: the refreshed value stored`, 2_000, async () => (await backend.get<string>(stampedeKey(key)))?.data === refresh.value);
    assert.not.ok(await hasLease(key), `${key}: the refresh left no lease`);
  }
  assert.is(fleet.starts(`${run}-during`).length, 0, 'no second refresh started while the first one ran');

  const after = await within(fleet.runAll(fleet.children, { run: `${run}-after`, keys, callers: 10, options, factory: { kind: 'delay', ms: REFRESH_MS } }), 10_000, `${run}-after`);
  assertNoErrors(after);
  for (const result of after) for (const call of result.calls) assert.is(call.value, fleet.starts(run, call.key)[0]!.value, 'once landed, every caller reads the new value');
  assert.is(fleet.starts(`${run}-after`).length, 0, 'a fresh entry calls no factory');
  console.log(`  ${label}: ${keys.length} stale key(s), ${CHILDREN} x ${CALLERS} callers: 1 refresh per key; caller latency p50 ${ms(percentile(latencies, 0.5))}, max ${ms(latencies.at(-1)!)} (refresh ${REFRESH_MS} ms)`);
}

// ---------------------------------------------------------------------------------------------------------
// Single node

const single = suite(`getOrSet across processes, single node, ${DRIVER}`);
let redis: RedisUnderTest;
let singleFleet: Fleet;
let singleBackend: RedisBackend;
let victim: Child;
let singleStarted = 0;

single.before(async () => {
  singleStarted = Date.now();
  redis = await startRedis();
  singleFleet = new Fleet();
  const config = { mode: 'single' as const, urls: [redis.url] };
  const [spawned] = await Promise.all([singleFleet.spawn(['victim'], config), singleFleet.spawn(['p1', 'p2', 'p3', 'p4'], config)]);
  victim = spawned[0]!;
  // The victim is only for the SIGKILL test; the stampedes run in the other four.
  singleFleet.children = singleFleet.children.filter((child) => child !== victim);
  singleBackend = builder().connection(ConnectionMode.single(redis.url)).build();
});

single.after(async () => {
  await singleFleet.close();
  await victim.kill();
  await singleBackend.close();
  await redis.stop();
  console.log(`  single node: ${((Date.now() - singleStarted) / 1000).toFixed(1)} s`);
});

single('a cold key: one factory call across 4 processes x 100 callers, every caller gets its value', async () => {
  await coldStampede(singleFleet, 'single node', 'cold', ['cold']);
  assert.equal(await redis.admin.hkeys(stampedeKey('cold').toString()), ['d'], 'a finished getOrSet leaves an entry without a lease (no s: never stale)');
});

single('a cold key with a slow factory: the waiters still learn of its value within tens of milliseconds', async () => {
  await coldStampede(singleFleet, 'single node', 'cold-slow', ['cold-slow'], 400);
});

single('a stale key: every caller answers at once, one refresh deployment-wide, then the new value', async () => {
  await staleStampede(singleFleet, singleBackend, 'single node', 'stale', ['stale'], async (key) => (await redis.admin.hexists(stampedeKey(key).toString(), 'l')) === 1);
});

single('a lease holder SIGKILLed mid-factory: one waiter takes over after lockTimeout, the others get its value', async () => {
  const lockTimeout = 500;
  const options = { ttl: 60_000, lockTimeout };
  // The victim's factory never returns: only the SIGKILL ends its lease, and only lockTimeout frees it.
  void victim.run({ run: 'orphan-holder', keys: ['orphan'], callers: CALLERS, options, factory: { kind: 'hang' } }).catch(() => undefined);
  const held = await singleFleet.factoryEvent('the victim holds the lease', (event) => event.run === 'orphan-holder' && event.phase === 'start');
  // The lease's start, by the server's clock (the one a takeover is decided by): "<server ms> <token>".
  const leaseStart = Number((await redis.admin.hget(stampedeKey('orphan').toString(), 'l'))?.split(' ')[0]);
  assert.ok(Number.isFinite(leaseStart) && Math.abs(leaseStart - held.wall) < 50, `the victim's lease is in the entry (${leaseStart}, factory at ${held.wall})`);
  const waiting = singleFleet.runAll(singleFleet.children, { run: 'orphan', keys: ['orphan'], callers: CALLERS, options, factory: { kind: 'delay', ms: 50 } });
  await singleFleet.started('orphan', singleFleet.children);
  await victim.kill();
  const killedAt = now();
  const results = await within(waiting, 10_000, 'the waiters');
  assertNoErrors(results);

  const takeovers = singleFleet.starts('orphan');
  assert.is(takeovers.length, 1, `one waiter took over (${takeovers.map((event) => event.child).join(', ')})`);
  const [takeover] = takeovers as [FactoryEvent];
  for (const result of results) for (const call of result.calls) assert.is(call.value, takeover.value, `${result.child}: every waiter gets the taker's value`);
  const after = takeover.wall - leaseStart;
  console.log(`  single node: lease holder SIGKILLed ${ms(killedAt - held.at)} into its factory; ${takeover.child} took over ${ms(after)} after the lease was taken (lockTimeout ${lockTimeout} ms)`);
  // Server and children read this machine's wall clock in whole milliseconds, the server when it decides the
  // takeover (at lease start + lockTimeout or later), the taker's factory after that. Waiters poll at the
  // lease's takeover time, so it comes soon after.
  assert.ok(after >= lockTimeout, `no takeover before lockTimeout (${ms(after)})`);
  assert.ok(after < lockTimeout + 150, `the takeover comes soon after lockTimeout (${ms(after)})`);
  assert.equal(await redis.admin.hkeys(stampedeKey('orphan').toString()), ['d'], 'the taker stored its value with its lease, and left no lease');
  assert.is((await singleBackend.get<string>(stampedeKey('orphan')))?.data, takeover.value);
});

single.run();

// ---------------------------------------------------------------------------------------------------------
// Cluster

const clustered = suite(`getOrSet across processes, 3-primary cluster, ${DRIVER}`);
let cluster: ClusterUnderTest;
let clusterFleet: Fleet;
let clusterBackend: RedisBackend;
let clusterStarted = 0;

/** The primary that owns `key` now (CLUSTER SLOTS of a live primary). */
async function ownerOf(key: string): Promise<ClusterNodeUnderTest> {
  const node = (await cluster.primaries())[0]!;
  const slot = Number(await node.admin.call('CLUSTER', 'KEYSLOT', stampedeKey(key).toString()));
  const ranges = (await node.admin.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
  const port = ranges.find(([start, end]) => slot >= start && slot <= end)?.[2][1];
  const owner = cluster.nodes.find((candidate) => candidate.port === port);
  if (owner === undefined) throw new Error(`no node owns slot ${slot}`);
  return owner;
}

/** One key id per primary, each on a different one: `${prefix}-<n>`. */
async function keysOnEveryPrimary(prefix: string): Promise<string[]> {
  const primaries = await cluster.primaries();
  const byPort = new Map<number, string>();
  for (let n = 0; byPort.size < primaries.length; n++) {
    const owner = await ownerOf(`${prefix}-${n}`);
    if (!byPort.has(owner.port)) byPort.set(owner.port, `${prefix}-${n}`);
  }
  return [...byPort.values()];
}

/** A key id owned by `primary`. */
async function keyOn(primary: ClusterNodeUnderTest, prefix: string): Promise<string> {
  for (let n = 0; ; n++) if ((await ownerOf(`${prefix}-${n}`)).port === primary.port) return `${prefix}-${n}`;
}

async function replicaOf(primary: ClusterNodeUnderTest): Promise<ClusterNodeUnderTest> {
  for (const node of await cluster.replicas()) {
    if (new RegExp(`^master_port:${primary.port}\\r?$`, 'm').test(await node.admin.info('replication'))) return node;
  }
  throw new Error(`no replica of ${primary.port}`);
}

clustered.before(async () => {
  clusterStarted = Date.now();
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1 });
  clusterFleet = new Fleet();
  await clusterFleet.spawn(['c1', 'c2', 'c3', 'c4'], { mode: 'cluster', urls: cluster.seedUrls });
  clusterBackend = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
});

clustered.after(async () => {
  await clusterFleet.close();
  await clusterBackend.close();
  await cluster.stop();
  console.log(`  cluster: ${((Date.now() - clusterStarted) / 1000).toFixed(1)} s`);
});

clustered('cold keys on every primary: one factory call per key across 4 processes x 100 callers', async () => {
  const keys = await keysOnEveryPrimary('cold');
  await coldStampede(clusterFleet, 'cluster', 'cluster-cold', keys);
});

clustered('stale keys on every primary: every caller answers at once, one refresh per key deployment-wide', async () => {
  const keys = await keysOnEveryPrimary('stale');
  await staleStampede(clusterFleet, clusterBackend, 'cluster', 'cluster-stale', keys, async (key) => (await (await ownerOf(key)).admin.hexists(stampedeKey(key).toString(), 'l')) === 1);
});

/**
 * A failover while a factory holds the lease of a key on `primary`. What is guaranteed, and asserted: no
 * caller rejects, each gets a value some factory returned (callers in one process share one flight, so one
 * value per process), and once the cluster is stable again getOrSet on the key works: one value for
 * everyone, computed at most once. What is not: "the factory runs once". Replication is asynchronous, so
 * the promoted replica may not have the lease; waiters whose poll fails during the switch ride the outage
 * out by running their own factory (its value unstored); a switch longer than lockTimeout lets a waiter
 * take the lease over. The factory calls are counted and reported, not asserted.
 */
async function failoverDuringGetOrSet(title: string, run: string, fail: (primary: ClusterNodeUnderTest, replica: ClusterNodeUnderTest) => Promise<void>): Promise<void> {
  const primary = (await cluster.primaries())[0]!;
  const replica = await replicaOf(primary);
  const key = await keyOn(primary, run);
  const options = { ttl: 60_000, lockTimeout: 3_000 };
  // Gated factories return only once the parent opens the gate, after the failover: the lease is held throughout.
  const running = clusterFleet.runAll(clusterFleet.children, { run, keys: [key], callers: CALLERS, options, factory: { kind: 'gate' } });
  const holder = await clusterFleet.factoryEvent(`${run}: a factory holds the lease`, (event) => event.run === run && event.phase === 'start');
  await clusterFleet.started(run, clusterFleet.children);
  assert.is(await primary.admin.hexists(stampedeKey(key).toString(), 'l'), 1, 'the primary holds the pending entry with the lease');
  const switchStarted = now();
  await fail(primary, replica);
  await until(`${run}: the replica promoted`, 15_000, async () => (await replica.role()) === 'primary');
  await cluster.waitForOk();
  const switched = now() - switchStarted;
  for (const child of clusterFleet.children) child.open(run);
  const results = await within(running, 20_000, `${run}: every caller`);

  assertNoErrors(results);
  const values = new Set(clusterFleet.starts(run).map((event) => event.value));
  for (const result of results) {
    const got = new Set(result.calls.map((call) => call.value));
    assert.is(got.size, 1, `${result.child}: its callers share one flight, one value`);
    const value = [...got][0]!;
    assert.ok(values.has(value), `${result.child}: the value (${value}) is one a factory returned`);
  }
  const during = clusterFleet.starts(run).length;

  // Afterwards, once every backend has learned the new topology (the cluster being ok does not mean its
  // clients know it yet: until then a call to the dead node fails, and getOrSet rides that out with an
  // unstored value of its own): a stored value is served, or (the lease or the fill lost in the switch)
  // one caller recomputes it, at worst after lockTimeout (a lease whose fill failed in the switch).
  await until(`${run}: every backend reaches the key's new primary`, 15_000, async () => (await Promise.all(clusterFleet.children.map((child) => child.probe(key)))).every(Boolean));
  const afterRun = `${run}-after`;
  const after = await within(
    clusterFleet.runAll(clusterFleet.children, { run: afterRun, keys: [key], callers: 10, options, factory: { kind: 'delay', ms: 50 } }),
    options.lockTimeout + 10_000,
    afterRun,
  );
  assertNoErrors(after);
  const afterValues = new Set(after.flatMap((result) => result.calls.map((call) => call.value)));
  const afterReported = after.flatMap((result) => result.reported.map((report) => `${result.child}: ${report}`));
  assert.is(afterValues.size, 1, `after the failover every caller gets one value (${[...afterValues].join(', ')}; ridden out: ${afterReported.join('; ') || 'none'})`);
  assert.ok(clusterFleet.starts(afterRun).length <= 1, `after the failover the value is served or computed once (${clusterFleet.starts(afterRun).length})`);
  assert.is((await clusterBackend.get<string>(stampedeKey(key)))?.data, [...afterValues][0], 'the value is stored');
  const reported = results.reduce((sum, result) => sum + result.reported.length, 0);
  console.log(
    `  cluster, ${title} (${ms(switched)} to a stable cluster) while ${holder.child} held the lease: ${during} factory call(s) during it ` +
      `(${clusterFleet.starts(run).map((event) => event.child).join(', ')}), ${reported} outage(s) ridden out, ` +
      `${values.size} distinct value(s) returned; afterwards ${clusterFleet.starts(afterRun).length === 0 ? 'served' : 'recomputed once'}`,
  );
}

clustered('a manual CLUSTER FAILOVER while a factory holds the lease: every caller gets a value, getOrSet works after', async () => {
  await failoverDuringGetOrSet('manual CLUSTER FAILOVER', 'manual-failover', async (_primary, replica) => {
    await replica.admin.call('CLUSTER', 'FAILOVER');
  });
});

clustered('the lease holder primary killed while a factory runs: every caller gets a value, getOrSet works after', async () => {
  await failoverDuringGetOrSet('primary killed', 'killed-primary', async (primary) => {
    await primary.kill();
  });
});

clustered.run();
