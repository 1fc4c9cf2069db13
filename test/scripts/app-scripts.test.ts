// @drivers ioredis node-redis
/**
 * An application's own generated scripts run through a real `RedisBackend` (a `ScriptRunner`) on a real
 * redis-server, on each driver: the committed `examples/generated/counter_add.ts` resolves to the string
 * its type says (bulk strings arrive as Buffers and the wrapper decodes them), a variadic wrapper passes
 * its per-call number of keys, and `backend.run` types a script's error reply, recovers from NOSCRIPT
 * and refuses bad keys and arguments before sending anything.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { emitAll } from '../../scripts/generator/emit.js';
import { writeGenerated } from '../../scripts/generator/generated-directory.js';
import { formatDiagnostic } from '../../scripts/generator/model.js';
import { parseScript } from '../../scripts/generator/parse-scripts.js';
import { ConnectionMode, InvalidValueError, RedisBackend, ScriptError, type ScriptArgument, type ScriptDefinition, type ScriptRunner } from '../../src/index.js';
import { builder } from '../helpers/driver.js';
import { commandCalls, startRedis, type RedisUnderTest } from '../helpers/redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The committed example, imported at run time: it imports its types from 'redis-lua-cache', which only a built package resolves for tsc. */
interface CounterAddModule {
  counterAdd(runner: ScriptRunner, counter: string | Buffer, amount: number): Promise<string>;
  counterAddScript: ScriptDefinition;
}
/** The wrapper of test/fixtures/generator/good/read_many.lua, emitted for this test. */
interface ReadManyModule {
  readMany(runner: ScriptRunner, index: string, entries: string[], limit: number, fields: string[]): Promise<[number, (Buffer | null)[], (string | null)[][]]>;
}

const test = suite('application scripts through backend.run');
let redis: RedisUnderTest;
let backend: RedisBackend;
let example: CounterAddModule;
let fixtures: ReadManyModule;
const emitted = mkdtempSync(join(tmpdir(), 'app-scripts-'));

test.before(async () => {
  redis = await startRedis();
  backend = builder().connection(ConnectionMode.single(redis.url)).build();
  example = (await import(pathToFileURL(join(root, 'examples/generated/counter_add.ts')).href)) as CounterAddModule;
  const parsed = parseScript({ path: 'lua/read_many.lua', text: readFileSync(join(root, 'test/fixtures/generator/good/read_many.lua'), 'utf8') });
  assert.equal(parsed.diagnostics.map(formatDiagnostic), []);
  writeGenerated(emitted, emitAll([parsed.script!]));
  fixtures = (await import(pathToFileURL(join(emitted, 'read_many.ts')).href)) as ReadManyModule;
});

test.after(async () => {
  await backend.close();
  await redis.stop();
  rmSync(emitted, { recursive: true, force: true });
});

test("counterAdd resolves to INCRBYFLOAT's decimal string, not a Buffer", async () => {
  await redis.admin.del('hits:today');
  const first = await example.counterAdd(backend, 'hits:today', 1.5);
  assert.is(typeof first, 'string');
  assert.is(first, '1.5');
  assert.is(await example.counterAdd(backend, Buffer.from('hits:today'), 1), '2.5');
  assert.is(await example.counterAdd(backend, 'hits:today', -2.5), '0');
  const ttl = await redis.admin.ttl('hits:today');
  assert.ok(ttl > 86_000 && ttl <= 86_400, `the counter expires in a day (ttl ${ttl})`);
});

test('a variadic wrapper: any number of keys in one call, strings decoded, Buffers and nulls kept', async () => {
  await redis.admin.sadd('{m}index', 'a', 'b');
  await redis.admin.hset('{m}a', 'd', Buffer.from([0xff, 0x01]), 'x', 'ex', 'y', 'why');
  await redis.admin.hset('{m}b', 'd', 'bee');
  await redis.admin.del('{m}c');
  const [count, data, fields] = await fixtures.readMany(backend, '{m}index', ['{m}a', '{m}b', '{m}c'], 10, ['x', 'y']);
  assert.is(count, 2);
  assert.equal(data, [Buffer.from([0xff, 0x01]), Buffer.from('bee'), null]);
  assert.ok(Buffer.isBuffer(data[0]), 'a Buffer position stays a Buffer');
  assert.equal(fields, [['ex', 'why'], [null, null], [null, null]]);
  // The limit cuts the list; no entries and no fields at all is a call too.
  assert.equal(await fixtures.readMany(backend, '{m}index', ['{m}a', '{m}b'], 1, []), [2, [Buffer.from([0xff, 0x01])], [[]]]);
  assert.equal(await fixtures.readMany(backend, '{m}index', [], 5, ['x']), [2, [], []]);
});

test('a script error reply is a ScriptError naming the script and its first key', async () => {
  await redis.admin.set('not-a-number', 'abc');
  const error = await example.counterAdd(backend, 'not-a-number', 1).then(
    () => assert.unreachable('INCRBYFLOAT on text must fail'),
    (caught: unknown) => caught,
  );
  assert.instance(error, ScriptError);
  const scriptError = error as ScriptError;
  assert.match(scriptError.message, 'counter_add');
  assert.match(scriptError.serverMessage, 'not a valid float');
  assert.is(scriptError.script, 'counter_add');
  assert.is(scriptError.key, 'not-a-number');
  assert.is(await redis.admin.get('not-a-number'), 'abc');
});

test('NOSCRIPT after SCRIPT FLUSH is recovered: the call succeeds, then EVALSHA again', async () => {
  await redis.admin.del('flushed');
  assert.is(await example.counterAdd(backend, 'flushed', 1), '1');
  await redis.admin.script('FLUSH');
  const before = await commandCalls(redis.admin);
  assert.is(await example.counterAdd(backend, 'flushed', 1), '2');
  assert.is(await example.counterAdd(backend, 'flushed', 1), '3');
  const after = await commandCalls(redis.admin);
  const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  assert.is(delta('eval'), 1, 'one EVAL answered the NOSCRIPT');
  assert.is(delta('evalsha'), 2, 'the failed EVALSHA, then the next call');
});

test('bad keys and arguments are refused with InvalidValueError before anything is sent', async () => {
  const { counterAddScript } = example;
  const cases: [string, unknown[], RegExp][] = [
    ['too few entries', [], /takes 1 key\(s\)/],
    ['an object entry', ['k', { amount: 1 }], /argument 1 must be a string, a finite number or a Buffer, got object/],
    ['NaN', ['k', Number.NaN], /argument 1 must be a string, a finite number or a Buffer, got NaN/],
    ['an undefined key', [undefined, 1], /key 0 must be a string, a finite number or a Buffer, got undefined/],
  ];
  const before = await commandCalls(redis.admin);
  for (const [what, values, reason] of cases) {
    const error = await backend.run(counterAddScript, values as ScriptArgument[]).then(
      () => assert.unreachable(`${what} must be refused`),
      (caught: unknown) => caught,
    );
    assert.instance(error, InvalidValueError, what);
    assert.match((error as InvalidValueError).message, reason, what);
    assert.is((error as InvalidValueError).script, 'counter_add', what);
  }
  // Through the wrapper too: NaN is a number to TypeScript.
  const viaWrapper = await example.counterAdd(backend, 'k', Number.NaN).catch((caught: unknown) => caught);
  assert.instance(viaWrapper, InvalidValueError);
  const after = await commandCalls(redis.admin);
  assert.is((after.evalsha ?? 0) + (after.eval ?? 0), (before.evalsha ?? 0) + (before.eval ?? 0), 'nothing was sent');
});

test.run();
