/**
 * What one many-key script call costs the server, by batch size: the evidence for BATCH_CHUNK (100 keys per
 * call, src/driver/batches.ts). A call is atomic, so while it runs the server serves nobody else: the chunk
 * size bounds that pause, and the per-key cost shows what larger calls would still save.
 *
 * For 1, 10, 100, 500 and 1000 keys of 100-byte values it runs read_many (EVALSHA_RO), write_many and
 * remove_many (EVALSHA) one call at a time on a connection of its own, against a redis-server it starts, and
 * reports the server's own time: `INFO commandstats` usec per call (the mean; free of client and network
 * cost), and, in a second pass with `slowlog-log-slower-than 0`, the median and largest duration of 128
 * calls, each read back from SLOWLOG. The single-key read and write scripts are measured the same way for comparison.
 *
 * Not part of `npm test`. Run alone on an idle machine: `npx tsx scripts/measure-batch.ts` (`--json` for JSON).
 */
import { Redis } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';

import { readManyScript, readScript, removeManyScript, writeManyScript, writeScript } from '../generated/index.js';
import { redisServerBinary } from './redis-server-binary.js';

const SIZES = [1, 10, 100, 500, 1000];
const VALUE_BYTES = 100;
/** Keys each variant touches in its timed pass, in all (about 0.2–0.5 s of server time). */
const KEY_OPS = 100_000;
const SLOWLOG_CALLS = 128;
const TTL_MS = '3600000';

// write_many takes a fixed number of arguments per key (data, stale, ttl, and maybe more); read it from the script.
const WRITE_ARGS_PER_KEY = Number(/#ARGV ~= (\d+) \* #KEYS/.exec(writeManyScript.source)?.[1] ?? 3);
// Its fixed arguments, before the entries' (`---@arg atomic integer`: 1, all or nothing, as writeMany sends it).
const WRITE_MANY_FIXED = [...writeManyScript.source.matchAll(/^---@arg (\w+) /gm)].map(([, name]) => {
  if (name === 'atomic') return '1';
  throw new Error(`write_many has an argument ${name} this script does not know: update scripts/measure-batch.ts`);
});
// The single-key write script's arguments after data, stale and ttl (tags, ...): '' stands for an absent one.
const WRITE_EXTRA_ARGS = Array.from({ length: Math.max(0, (writeScript.source.match(/^---@arg /gm)?.length ?? 3) - 3) }, () => '');

interface Row {
  script: string;
  keys: number;
  calls: number;
  usecPerCall: number;
  usecPerKey: number;
  /** Median and largest server time of the last calls, from SLOWLOG (threshold 0). */
  slowlogMedianUsec: number;
  slowlogMaxUsec: number;
}

interface Variant {
  script: string;
  command: 'evalsha' | 'evalsha_ro';
  /** Done before each call, outside the timed command (remove_many needs its keys back). */
  prepare?: (keys: string[]) => Promise<void>;
  call: (keys: string[]) => Promise<unknown>;
}

async function commandStat(admin: Redis, command: string): Promise<{ calls: number; usec: number; failed: number }> {
  const info = await admin.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+),usec=(\\d+).*?failed_calls=(\\d+)`, 'm').exec(info);
  return { calls: Number(match?.[1] ?? 0), usec: Number(match?.[2] ?? 0), failed: Number(match?.[3] ?? 0) };
}

/** Throws unless `reply` is what a call that did its work on `n` entries replies: a measurement of failures is worthless. */
function checkReply(script: string, n: number, reply: unknown): void {
  const items = script === 'read' || !Array.isArray(reply) ? [reply] : reply;
  const ok =
    script === 'read' || script === 'read_many'
      ? items.length === n && items.every((item) => Array.isArray(item) && Buffer.isBuffer(item[0]) && item[0].length === VALUE_BYTES)
      : script === 'remove_many'
        ? reply === n
        : // write replies 1; write_many the count, or one 1 per key.
          (Array.isArray(reply) ? reply.length === n && reply.every((item) => item === 1) : reply === (script === 'write' ? 1 : n));
  if (!ok) throw new Error(`${script} ${n}: unexpected reply ${JSON.stringify(reply)?.slice(0, 200)}`);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const server = await RedisMemoryServer.create({
    instance: { args: ['--save', '', '--appendonly', 'no'] },
    binary: { systemBinary: redisServerBinary() },
  });
  const host = await server.getHost();
  const port = await server.getPort();
  const admin = new Redis({ host, port });
  const client = new Redis({ host, port });
  const rows: Row[] = [];
  try {
    for (const script of [readScript, writeScript, readManyScript, writeManyScript, removeManyScript]) await admin.script('LOAD', script.source);
    const version = /^redis_version:(\S+)/m.exec(await admin.info('server'))?.[1];
    const value = Buffer.alloc(VALUE_BYTES, 0x61);
    const writeFields = (n: number): (string | Buffer)[] => {
      const fields: (string | Buffer)[] = [...WRITE_MANY_FIXED];
      for (let i = 0; i < n; i++) fields.push(value, '', TTL_MS, ...Array.from({ length: WRITE_ARGS_PER_KEY - 3 }, () => ''));
      return fields;
    };
    const fill = async (keys: string[]): Promise<void> => {
      const pipeline = client.pipeline();
      for (const key of keys) pipeline.hset(key, 'd', value);
      await pipeline.exec();
    };

    for (const n of SIZES) {
      // Distinct keys per size, all holding an entry, so that reads hit and writes overwrite (the steady state).
      const keys = Array.from({ length: n }, (_, i) => `batch-cost:${n}:${i}`);
      const variants: Variant[] =
        n === 1
          ? [
              { script: 'read', command: 'evalsha_ro', call: (k) => client.callBuffer('EVALSHA_RO', readScript.sha1, 1, k[0]!) },
              { script: 'write', command: 'evalsha', call: (k) => client.callBuffer('EVALSHA', writeScript.sha1, 1, k[0]!, value, '', TTL_MS, ...WRITE_EXTRA_ARGS) },
            ]
          : [];
      const fields = writeFields(n);
      variants.push(
        { script: 'read_many', command: 'evalsha_ro', call: (k) => client.callBuffer('EVALSHA_RO', readManyScript.sha1, k.length, ...k) },
        { script: 'write_many', command: 'evalsha', call: (k) => client.callBuffer('EVALSHA', writeManyScript.sha1, k.length, ...k, ...fields) },
        { script: 'remove_many', command: 'evalsha', prepare: fill, call: (k) => client.callBuffer('EVALSHA', removeManyScript.sha1, k.length, ...k) },
      );
      for (const variant of variants) {
        await fill(keys);
        // remove_many needs its keys filled again before each call: fewer calls, the same per-call figure.
        const calls = Math.max(variant.prepare ? 20 : 50, Math.round((variant.prepare ? KEY_OPS / 4 : KEY_OPS) / n));
        for (let i = 0; i < 5; i++) {
          await variant.prepare?.(keys);
          checkReply(variant.script, n, await variant.call(keys));
        }
        const before = await commandStat(admin, variant.command);
        for (let i = 0; i < calls; i++) {
          await variant.prepare?.(keys);
          await variant.call(keys);
        }
        const after = await commandStat(admin, variant.command);
        if (after.calls - before.calls !== calls || after.failed !== before.failed) {
          throw new Error(`${variant.script} ${n}: ${after.calls - before.calls} of ${calls} calls counted, ${after.failed - before.failed} failed`);
        }
        const usecPerCall = (after.usec - before.usec) / calls;

        // Second pass: per-call durations from the slow log.
        // The newest entry right after a call is that call's: the server logs a command before its reply leaves.
        await admin.config('SET', 'slowlog-log-slower-than', '0');
        const durations: number[] = [];
        for (let i = 0; i < SLOWLOG_CALLS; i++) {
          await variant.prepare?.(keys);
          await variant.call(keys);
          const [entry] = (await admin.slowlog('GET', 1)) as [number, number, number, (string | Buffer)[]][];
          if (entry === undefined || String(entry[3][0]).toLowerCase() !== variant.command) throw new Error(`${variant.script} ${n}: the newest slow-log entry is not the call`);
          durations.push(entry[2]);
        }
        await admin.config('SET', 'slowlog-log-slower-than', '10000');
        durations.sort((a, b) => a - b);

        rows.push({
          script: variant.script,
          keys: n,
          calls,
          usecPerCall,
          usecPerKey: usecPerCall / n,
          slowlogMedianUsec: durations[Math.floor(durations.length / 2)]!,
          slowlogMaxUsec: durations[durations.length - 1]!,
        });
      }
      await client.del(...keys);
    }

    if (json) {
      console.log(JSON.stringify({ redisVersion: version, valueBytes: VALUE_BYTES, rows }, null, 2));
      return;
    }
    console.log(`redis-server ${version}, ${VALUE_BYTES}-byte values, one call at a time; server time from INFO commandstats (mean) and SLOWLOG (${SLOWLOG_CALLS} calls)\n`);
    console.log('| script | keys | calls | µs per call | µs per key | median µs (slowlog) | max µs (slowlog) |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(`| ${row.script} | ${row.keys} | ${row.calls} | ${row.usecPerCall.toFixed(1)} | ${row.usecPerKey.toFixed(2)} | ${row.slowlogMedianUsec} | ${row.slowlogMaxUsec} |`);
    }
  } finally {
    client.disconnect();
    admin.disconnect();
    await server.stop();
  }
}

await main();
