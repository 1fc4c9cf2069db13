/**
 * What a value costs the server when it passes through a Lua script, against the same bytes moved by plain
 * commands. Redis' bundled Lua interns every string a script sees and hashes all of its bytes to do so
 * (deps/lua/src/lstring.c in the Redis sources hashes with a step of 1, where stock Lua 5.1 samples at most
 * 32 characters), so the cost of a script grows with the size of the values it touches: the write script's
 * data argument and the read script's HMGET reply. Each variant runs alone, one call at a time on a
 * connection of its own, and is timed by the server (INFO commandstats usec of the top-level command), so the
 * figures are server CPU only, free of client and network cost.
 */
import type { Redis } from 'ioredis';

import type { BufferScripts } from './contenders.js';
import { importScripts } from './lib.js';
import { QUICK } from './plan.js';
import { stats } from './redis-benchmark.js';
import { TTL_MS } from './workload.js';

export const LUA_COST_SIZES = [1024, 16_384, 102_400, 1_048_576];

export interface LuaCostResult {
  variant: string;
  /** The top-level command whose commandstats usec is reported. */
  command: string;
  size: number;
  calls: number;
  usecPerCall: number;
}

interface Variant {
  name: string;
  command: string;
  call(client: Redis & BufferScripts, key: string, value: Buffer): Promise<unknown>;
}

export async function measureLuaCost(admin: Redis, log: (line: string) => void): Promise<LuaCostResult[]> {
  const { readScript, writeScript } = await importScripts();
  const client = admin.duplicate() as Redis & BufferScripts;
  const argOnly = String(await client.script('LOAD', 'return 1'));
  const hgetDiscard = String(await client.script('LOAD', "redis.call('HGET', KEYS[1], 'd') return 1"));
  await client.script('LOAD', readScript.source);
  await client.script('LOAD', writeScript.source);
  const variants: Variant[] = [
    { name: 'script that ignores a value passed as argument (`return 1`)', command: 'evalsha', call: (c, key, v) => c.evalshaBuffer(argOnly, 1, key, v) },
    { name: "script that HGETs the value and drops it", command: 'evalsha', call: (c, key) => c.evalshaBuffer(hgetDiscard, 1, key) },
    { name: 'our write script', command: 'evalsha', call: (c, key, v) => c.evalshaBuffer(writeScript.sha1, 1, key, v, '', String(TTL_MS), '') },
    { name: 'our read script', command: 'evalsha_ro', call: (c, key) => c.evalsha_roBuffer(readScript.sha1, 1, key) },
    { name: 'plain HSET d (what the seed sends)', command: 'hset', call: (c, key, v) => c.hset(key, 'd', v) },
    { name: 'plain HMGET d s (what the seed sends)', command: 'hmget', call: (c, key) => c.hmgetBuffer(key, 'd', 's') },
  ];
  const out: LuaCostResult[] = [];
  try {
    for (const size of LUA_COST_SIZES) {
      const value = Buffer.alloc(size, 0x61);
      // About 0.1–0.3 s of server time per variant and size; few distinct keys, so the hash lookups stay cheap.
      const calls = Math.max(QUICK ? 20 : 60, Math.round((QUICK ? 2e7 : 6e7) / size / 10));
      const keys = Array.from({ length: 16 }, (_, i) => `luacost:${size}:${i}`);
      for (const key of keys) await client.hset(key, 'd', value);
      const row: string[] = [];
      for (const variant of variants) {
        const before = await stats(admin);
        for (let i = 0; i < calls; i++) await variant.call(client, keys[i % keys.length]!, value);
        const after = await stats(admin);
        const stat = after.top[variant.command];
        const prev = before.top[variant.command] ?? { calls: 0, usec: 0, failed: 0 };
        const done = (stat?.calls ?? 0) - prev.calls;
        if (done !== calls || (stat?.failed ?? 0) !== prev.failed) throw new Error(`lua-cost ${variant.name} ${size} B: ${done} of ${calls} calls counted, ${(stat?.failed ?? 0) - prev.failed} failed`);
        const usecPerCall = ((stat?.usec ?? 0) - prev.usec) / calls;
        out.push({ variant: variant.name, command: variant.command, size, calls, usecPerCall });
        row.push(usecPerCall.toFixed(1));
      }
      await client.del(...keys);
      log(`${String(size).padStart(8)} B: ${row.join(' / ')} µs per call (${variants.map((v) => v.command).join(' / ')})`);
    }
  } finally {
    client.disconnect();
  }
  return out;
}
