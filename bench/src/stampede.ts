/**
 * The stampede block (issue 10): `processes` child processes (src/stampede-child.ts) of one contender, each
 * with its own client, and `callers` callers in each, all call the contender's get-or-compute on the same
 * cold key at the same moment; the factory takes `factoryMs`. One key after the other, `keys` of them per
 * repetition, after a few warm-up keys that are not counted.
 *
 * The barrier goes through this process: each round waits until every child reported the previous one, then
 * sends every child the same start time a little ahead (IPC delivery to 4 processes on 2 busy cores takes a
 * few ms, so "start when you read this" would spread the starts over those ms); each child sleeps until
 * then and starts its callers in one synchronous loop. How late each process started is recorded.
 *
 * Measured: factory calls per key (summed over the processes), distinct values the callers of a key got,
 * caller latency (from its call to its answer), and the Redis commands the whole stampede cost
 * (INFO commandstats deltas over the counted keys).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import type { Redis } from 'ioredis';

import { STAMPEDE_CONTENDERS } from './contenders.js';
import { STAMPEDE } from './plan.js';
import type { CommandStat, Endpoint } from './types.js';

export interface StampedeChildRequest {
  contender: string;
  nodes: Endpoint[];
  processIndex: number;
  callers: number;
  factoryMs: number;
  ttlMs: number;
}

export type StampedeParentMessage = { type: 'go'; round: number; prefix: string; index: number; at: number } | { type: 'stop' };

export type StampedeChildMessage =
  | { type: 'ready' }
  | {
      type: 'round';
      round: number;
      factoryCalls: number;
      latenciesUs: number[];
      values: string[];
      errors: number;
      mismatches: number;
      firstError?: string;
      /** How long after the common start time this process started its callers. */
      lateMs: number;
    };

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface StampedeResult {
  contender: string;
  rep: number;
  processes: number;
  callers: number;
  factoryMs: number;
  keys: number;
  /** Per key: factory calls summed over the processes. */
  factoryCallsPerKey: number[];
  /** Per key: how many processes ran the factory at least once. */
  computingProcessesPerKey: number[];
  /** Per key: distinct values the callers got (1: every caller in every process got the same value). */
  distinctValuesPerKey: number[];
  /** Every caller, µs. */
  latency: LatencySummary;
  /** Callers in a process whose factory ran for that key. */
  latencyComputing: LatencySummary;
  /** Callers in a process that ran no factory for that key (they waited for another process' value). */
  latencyWaiting: LatencySummary;
  /** Per key: latest minus earliest start of the processes, ms. */
  startSpreadMs: number[];
  errors: number;
  mismatches: number;
  firstError?: string;
  /** INFO commandstats deltas over the counted keys (admin commands left out). */
  commands: Record<string, CommandStat>;
  commandsPerKey: number;
  seconds: number;
}

const ADMIN_COMMANDS = new Set(['info', 'cluster', 'ping', 'client', 'hello', 'select', 'auth', 'command', 'config', 'readonly', 'script']);
const START_AHEAD_MS = 30;

export function summarize(values: number[]): LatencySummary {
  if (values.length === 0) return { n: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the value below which p% of the callers answered.
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { n: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1)!, mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

async function commandStats(admin: Redis): Promise<Record<string, CommandStat>> {
  const out: Record<string, CommandStat> = {};
  const text = await admin.info('commandstats');
  for (const m of text.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+),usec=(\d+)/gm)) out[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

function commandDelta(before: Record<string, CommandStat>, after: Record<string, CommandStat>): Record<string, CommandStat> {
  const out: Record<string, CommandStat> = {};
  for (const [name, stat] of Object.entries(after)) {
    if (ADMIN_COMMANDS.has(name)) continue;
    const calls = stat.calls - (before[name]?.calls ?? 0);
    if (calls > 0) out[name] = { calls, usec: stat.usec - (before[name]?.usec ?? 0) };
  }
  return out;
}

interface Process {
  child: ChildProcess;
  exited: Promise<void>;
  next(): Promise<StampedeChildMessage>;
}

function startProcess(benchDir: string, request: StampedeChildRequest, track: (child: ChildProcess, live: boolean) => void): Process {
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, 'src', 'stampede-child.ts'), JSON.stringify(request)], {
    cwd: benchDir,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child, true);
  const inbox: StampedeChildMessage[] = [];
  const waiting: { resolve(m: StampedeChildMessage): void; reject(e: Error): void }[] = [];
  let failure: Error | undefined;
  child.on('message', (message: StampedeChildMessage) => {
    const w = waiting.shift();
    if (w) w.resolve(message);
    else inbox.push(message);
  });
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      track(child, false);
      if (code !== 0) failure = new Error(`stampede child ${request.contender} #${request.processIndex} exited with ${signal ?? code}`);
      for (const w of waiting.splice(0)) w.reject(failure ?? new Error(`stampede child ${request.contender} #${request.processIndex} exited`));
      resolve();
    });
  });
  return {
    child,
    exited,
    next: () => {
      const m = inbox.shift();
      if (m) return Promise.resolve(m);
      if (failure || child.exitCode !== null) return Promise.reject(failure ?? new Error('stampede child exited'));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}

async function runContender(
  id: string,
  rep: number,
  opts: { nodes: Endpoint[]; admin: Redis; benchDir: string; runId: string; track: (child: ChildProcess, live: boolean) => void; log: (line: string) => void },
): Promise<StampedeResult> {
  const { processes: P, callers, keys, warmupKeys, factoryMs } = STAMPEDE;
  const procs = Array.from({ length: P }, (_, processIndex) =>
    startProcess(opts.benchDir, { contender: id, nodes: opts.nodes, processIndex, callers, factoryMs, ttlMs: 60_000 }, opts.track),
  );
  try {
    for (const p of procs) {
      const m = await p.next();
      if (m.type !== 'ready') throw new Error(`stampede child ${id}: expected ready, got ${m.type}`);
    }
    const factoryCallsPerKey: number[] = [];
    const computingProcessesPerKey: number[] = [];
    const distinctValuesPerKey: number[] = [];
    const startSpreadMs: number[] = [];
    const all: number[] = [];
    const computing: number[] = [];
    const waiting: number[] = [];
    let errors = 0;
    let mismatches = 0;
    let firstError: string | undefined;
    let before: Record<string, CommandStat> = {};
    let t0 = 0;
    for (let round = 0; round < warmupKeys + keys; round++) {
      const counted = round >= warmupKeys;
      if (round === warmupKeys) {
        before = await commandStats(opts.admin);
        t0 = performance.now();
      }
      // A key nobody wrote: unique to this run, contender, repetition and round.
      const prefix = `st${opts.runId}${id}r${rep}`;
      const message: StampedeParentMessage = { type: 'go', round, prefix, index: round, at: Date.now() + START_AHEAD_MS };
      for (const p of procs) p.child.send(message);
      const replies = [];
      for (const p of procs) {
        const m = await p.next();
        if (m.type !== 'round' || m.round !== round) throw new Error(`stampede child ${id}: expected round ${round}, got ${m.type}`);
        replies.push(m);
      }
      if (!counted) continue;
      factoryCallsPerKey.push(replies.reduce((s, r) => s + r.factoryCalls, 0));
      computingProcessesPerKey.push(replies.filter((r) => r.factoryCalls > 0).length);
      distinctValuesPerKey.push(new Set(replies.flatMap((r) => r.values)).size);
      startSpreadMs.push(Math.max(...replies.map((r) => r.lateMs)) - Math.min(...replies.map((r) => r.lateMs)));
      for (const r of replies) {
        all.push(...r.latenciesUs);
        (r.factoryCalls > 0 ? computing : waiting).push(...r.latenciesUs);
        errors += r.errors;
        mismatches += r.mismatches;
        firstError ??= r.firstError;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const commands = commandDelta(before, await commandStats(opts.admin));
    const totalCommands = Object.values(commands).reduce((s, c) => s + c.calls, 0);
    return {
      contender: id,
      rep,
      processes: P,
      callers,
      factoryMs,
      keys,
      factoryCallsPerKey,
      computingProcessesPerKey,
      distinctValuesPerKey,
      latency: summarize(all),
      latencyComputing: summarize(computing),
      latencyWaiting: summarize(waiting),
      startSpreadMs,
      errors,
      mismatches,
      ...(firstError ? { firstError } : {}),
      commands,
      commandsPerKey: totalCommands / keys,
      seconds,
    };
  } finally {
    for (const p of procs) {
      try {
        if (p.child.exitCode === null) p.child.send({ type: 'stop' } satisfies StampedeParentMessage);
      } catch {
        // its channel is closed: it is exiting already
      }
    }
    const stopped = Promise.all(procs.map((p) => p.exited));
    const timer = setTimeout(() => procs.forEach((p) => p.child.exitCode === null && p.child.kill('SIGKILL')), 10_000);
    await stopped;
    clearTimeout(timer);
  }
}

const ms = (us: number) => (us / 1000).toFixed(1);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Runs the block: every contender of STAMPEDE_CONTENDERS (or of `only`), STAMPEDE.reps times, in alternating order. */
export async function runStampede(opts: {
  nodes: Endpoint[];
  admin: Redis;
  benchDir: string;
  only: Set<string> | null;
  track: (child: ChildProcess, live: boolean) => void;
  log: (line: string) => void;
  onResult: (result: StampedeResult) => void;
  onFailure: (note: string) => void;
}): Promise<void> {
  const ids = STAMPEDE_CONTENDERS.map((c) => c.id).filter((id) => opts.only === null || opts.only.has(id));
  const runId = Date.now().toString(36);
  for (let rep = 0; rep < STAMPEDE.reps; rep++) {
    const order = rep % 2 === 1 ? [...ids].reverse() : ids;
    for (const id of order) {
      try {
        const r = await runContender(id, rep, { ...opts, runId });
        opts.onResult(r);
        const calls = r.factoryCallsPerKey;
        opts.log(
          `${id.padEnd(18)} r${rep + 1}: factory calls/key ${mean(calls).toFixed(2)} (${Math.min(...calls)}-${Math.max(...calls)}), distinct values/key ${mean(r.distinctValuesPerKey).toFixed(2)}, latency p50 ${ms(r.latency.p50)} ms p99 ${ms(r.latency.p99)} ms max ${ms(r.latency.max)} ms, waiting processes p50 ${ms(r.latencyWaiting.p50)} ms, redis commands/key ${r.commandsPerKey.toFixed(1)}, start spread max ${Math.max(...r.startSpreadMs)} ms${r.errors || r.mismatches ? `, ERRORS ${r.errors} MISMATCHES ${r.mismatches} (${r.firstError})` : ''}`,
        );
      } catch (error) {
        const note = `stampede ${id} r${rep + 1}: ${(error as Error).message}`;
        opts.log(note);
        opts.onFailure(note);
      }
    }
  }
}
