/**
 * The server's own ceiling: redis-benchmark (C, one thread, a few µs of client CPU per request) running our
 * read and write scripts with EVALSHA, and GET / SET for reference, against the keys the headline block
 * preloaded. redis-benchmark cannot check replies; instead the server's keyspace_hits / failed_calls deltas
 * show that every read found its entry and no call failed.
 */
import { spawnSync } from 'node:child_process';

import type { Redis } from 'ioredis';

import { importScripts } from './lib.js';
import { QUICK, keysFor } from './plan.js';
import { keyText, TTL_MS, Values } from './workload.js';

export interface RedisBenchmarkResult {
  name: string;
  command: string;
  clients: number;
  pipeline: number;
  requests: number;
  rep: number;
  throughput: number;
  p50: number;
  p99: number;
  p999: number;
  /** Client CPU (redis-benchmark process, user + system) per request, microseconds. */
  cpuPerOpUs: number;
  serverCpuPerOpUs: number;
  commandUsecPerOp: number;
  serverCommandsPerOp: number;
  hitRatio: number | null;
  failedCalls: number;
}

interface Server {
  host: string;
  port: number;
  admin: Redis;
}

interface Stats {
  calls: number;
  usec: number;
  top: Record<string, { calls: number; usec: number; failed: number }>;
  cpu: number;
  hits: number;
  misses: number;
}

export async function stats(admin: Redis): Promise<Stats> {
  const text = await admin.info('all');
  const top: Stats['top'] = {};
  let calls = 0;
  let usec = 0;
  for (const m of text.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+),usec=(\d+).*?failed_calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    top[m[1]!] = { calls: Number(m[2]), usec: Number(m[3]), failed: Number(m[4]) };
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  const num = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
  return { calls, usec, top, cpu: num('used_cpu_user') + num('used_cpu_sys'), hits: num('keyspace_hits'), misses: num('keyspace_misses') };
}

function run(server: Server, clients: number, pipeline: number, requests: number, keys: number, args: string[]) {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `redis-benchmark -h ${server.host} -p ${server.port} -c ${clients} -P ${pipeline} -n ${requests} -r ${keys} --precision 3 ${quoted} 2>&1; times`;
  const out = spawnSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const text = out.stdout;
  const throughput = Number(/throughput summary: ([\d.]+) requests per second/.exec(text)?.[1] ?? 0);
  const summary = /avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(text);
  let p999 = 0;
  for (const m of text.matchAll(/^\s*([\d.]+)% <= ([\d.]+) milliseconds/gm)) {
    if (Number(m[1]) >= 99.9) {
      p999 = Number(m[2]) * 1000;
      break;
    }
  }
  // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s"
  const lines = text.trim().split('\n');
  const child = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  const cpuSeconds = child ? Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4]) : 0;
  const errors = /Error from server: (.*)/.exec(text)?.[1];
  return {
    throughput,
    p50: summary ? Number(summary[3]) * 1000 : 0,
    p99: summary ? Number(summary[5]) * 1000 : 0,
    p999,
    cpuSeconds,
    errors,
  };
}

export async function runRedisBenchmarks(server: Server, log: (line: string) => void): Promise<RedisBenchmarkResult[]> {
  const { readScript, writeScript } = await importScripts();
  const keys = keysFor(100);
  const value = new Values(100, 'text').string(1);
  // The read and GET runs use the datasets the headline block preloaded (hash h100 and string s100); the write
  // and SET runs write keys of their own, so that the stamped values of the preloaded ones stay intact.
  const cases: { name: string; command: string; clients: number; pipeline: number; args: string[] }[] = [
    { name: 'read script', command: 'EVALSHA_RO read', clients: 256, pipeline: 1, args: ['EVALSHA_RO', readScript.sha1, '1', keyText('h100', 0).replace(/\d{12}$/, '__rand_int__')] },
    { name: 'read script', command: 'EVALSHA_RO read', clients: 16, pipeline: 16, args: ['EVALSHA_RO', readScript.sha1, '1', keyText('h100', 0).replace(/\d{12}$/, '__rand_int__')] },
    { name: 'write script', command: 'EVALSHA write', clients: 16, pipeline: 16, args: ['EVALSHA', writeScript.sha1, '1', keyText('hrb100', 0).replace(/\d{12}$/, '__rand_int__'), value, '', String(TTL_MS), ''] },
    { name: 'GET', command: 'GET', clients: 16, pipeline: 16, args: ['GET', keyText('s100', 0).replace(/\d{12}$/, '__rand_int__')] },
    { name: 'SET PX', command: 'SET PX', clients: 16, pipeline: 16, args: ['SET', keyText('srb100', 0).replace(/\d{12}$/, '__rand_int__'), value, 'PX', String(TTL_MS)] },
  ];
  const out: RedisBenchmarkResult[] = [];
  const reps = QUICK ? 1 : 3;
  for (let rep = 0; rep < reps; rep++) {
    for (const c of rep % 2 === 1 ? [...cases].reverse() : cases) {
      // Calibrate: about 1.5 s per run.
      const probe = run(server, c.clients, c.pipeline, 20_000, keys, c.args);
      const requests = Math.max(20_000, Math.round((probe.throughput || 100_000) * (QUICK ? 0.5 : 1.5)));
      const before = await stats(server.admin);
      const r = run(server, c.clients, c.pipeline, requests, keys, c.args);
      const after = await stats(server.admin);
      let failed = 0;
      let topCalls = 0;
      let topUsec = 0;
      const top = c.command.split(' ')[0]!.toLowerCase();
      for (const [name, stat] of Object.entries(after.top)) {
        const prev = before.top[name] ?? { calls: 0, usec: 0, failed: 0 };
        failed += stat.failed - prev.failed;
        if (name === top) {
          topCalls += stat.calls - prev.calls;
          topUsec += stat.usec - prev.usec;
        }
      }
      const hits = after.hits - before.hits;
      const misses = after.misses - before.misses;
      const result: RedisBenchmarkResult = {
        name: c.name,
        command: c.command,
        clients: c.clients,
        pipeline: c.pipeline,
        requests,
        rep,
        throughput: r.throughput,
        p50: r.p50,
        p99: r.p99,
        p999: r.p999,
        cpuPerOpUs: (r.cpuSeconds * 1e6) / requests,
        serverCpuPerOpUs: ((after.cpu - before.cpu) * 1e6) / requests,
        commandUsecPerOp: topCalls ? topUsec / requests : 0,
        serverCommandsPerOp: (after.calls - before.calls) / requests,
        hitRatio: c.name === 'read script' || c.name === 'GET' ? hits / Math.max(1, hits + misses) : null,
        failedCalls: failed,
      };
      out.push(result);
      log(
        `${c.name.padEnd(12)} -c ${String(c.clients).padStart(3)} -P ${String(c.pipeline).padStart(2)}: ${Math.round(r.throughput).toLocaleString('en-US').padStart(9)} req/s  p50 ${(r.p50 / 1000).toFixed(3)} ms  p99 ${(r.p99 / 1000).toFixed(3)} ms  client cpu ${result.cpuPerOpUs.toFixed(2)} us/op${failed ? `  FAILED CALLS ${failed}` : ''}${r.errors ? `  error: ${r.errors}` : ''}${result.hitRatio !== null && result.hitRatio < 0.999 ? `  hit ratio ${result.hitRatio.toFixed(3)}` : ''}`,
      );
    }
  }
  return out;
}
