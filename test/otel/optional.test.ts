/**
 * OpenTelemetry is optional: in a process where no @opentelemetry package can be loaded (a resolve hook
 * refuses them, as a missing install would), the library works and loads none, while the
 * redis-lua-cache/otel entry, which needs @opentelemetry/api, fails to load.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { startRedis, type RedisUnderTest } from '../helpers/redis.js';

const test = suite<{ redis: RedisUnderTest }>('otel optional');

test.before(async (ctx) => {
  ctx.redis = await startRedis();
});

test.after(async (ctx) => {
  await ctx.redis.stop();
});

test('redis-lua-cache neither needs nor loads @opentelemetry/api; redis-lua-cache/otel does', async (ctx) => {
  const fixtures = join(import.meta.dirname, '..', 'fixtures', 'otel');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--import', join(fixtures, 'forbid-opentelemetry.mjs'), join(fixtures, 'without-opentelemetry.ts'), ctx.redis.url],
    { cwd: join(import.meta.dirname, '..', '..') },
  );
  const seen = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { read: string; computed: string; loaded: string[]; otelEntry: string };
  assert.is(seen.read, 'no otel');
  assert.is(seen.computed, 'computed');
  assert.equal(seen.loaded, []);
  // The hook works: the otel entry is refused its @opentelemetry/api, and that is the only refusal.
  assert.match(seen.otelEntry, 'Cannot find package @opentelemetry/api');
  // (tsx's resolver may ask twice for one import.)
  assert.equal([...new Set(stderr.trim().split('\n'))], ['refused @opentelemetry/api']);
});

test.run();
