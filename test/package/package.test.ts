/**
 * The package as a new user gets it: `npm pack` (which runs prepack, the build) into a temporary directory,
 * `npm install <tarball>` into a fresh app next to it, and there: an ESM import, a CommonJS require(), the
 * LICENSE and README in the tarball, no `@internal` text in the shipped declarations, every source map's
 * sources shipped, the bin (`npx redis-lua-cache generate`: without ts-morph it says what to install; with
 * it, wrappers importing from 'redis-lua-cache', and `--check`), and a strict consumer (`skipLibCheck:
 * false`) type-checked with the project's own tsc, with an app file that runs a generated wrapper through
 * `RedisBackend`.
 *
 * Needs the registry or the npm cache for the dependencies (ioredis, msgpackr, ts-morph). Rebuilds dist/ (prepack).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAME = 'redis-lua-cache';
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

const work = mkdtempSync(join(tmpdir(), `${NAME}-package-test-`));
const app = join(work, 'app');
const installed = join(app, 'node_modules', NAME);

interface Packed {
  filename: string;
  files: { path: string }[];
}
let packed: Packed | undefined;
let setupError: string | undefined;

function tail(text: string, lines = 40): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Runs a command; on failure throws with the command, the exit status and the end of its output. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    // NODE_OPTIONS of the test runner (tsx's loader) must not leak into the user's world.
    const env = { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const how = error.killed ? `killed after ${timeoutMs / 1000} s` : `exit ${String(error.code)}`;
        reject(new Error(`\`${command} ${args.join(' ')}\` in ${cwd} failed (${how}):\n${tail(`${stdout}\n${stderr}`)}`));
      } else {
        resolvePromise({ stdout, stderr });
      }
    });
  });
}

/** Runs a command that may fail: its exit status and output, never a throw (but for a timeout). */
function runStatus(command: string, args: string[], cwd: string, timeoutMs: number): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };
    execFile(command, args, { cwd, env, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error?.killed) reject(new Error(`\`${command} ${args.join(' ')}\` killed after ${timeoutMs / 1000} s`));
      else resolvePromise({ status: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** The tests after the first need its tarball and install. */
function needSetup(): Packed {
  if (packed === undefined) throw new Error(`no installed package: ${setupError ?? 'the pack-and-install test did not run'}`);
  return packed;
}

test.after(() => {
  rmSync(work, { recursive: true, force: true });
});

test('npm pack (prepack builds) and npm install of the tarball into a fresh app', async () => {
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], ROOT, 120_000);
    // With --json, npm sends the lifecycle scripts' output to stderr; the JSON array is stdout.
    const parsed = JSON.parse(stdout.slice(stdout.indexOf('['))) as Packed[];
    const first = parsed[0];
    if (first === undefined || !existsSync(join(work, first.filename))) throw new Error(`npm pack wrote no tarball: ${tail(stdout, 10)}`);
    // A fresh app: its own package.json, so npm installs here and not in a parent project.
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'package-test-app', version: '1.0.0', private: true }, null, 2));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, first.filename)], app, 120_000);
    if (!existsSync(join(installed, 'package.json'))) throw new Error(`npm install left no ${installed}/package.json`);
    packed = first;
  } catch (error) {
    setupError = (error as Error).message;
    throw error;
  }
});

test('the tarball has the code, the typings, LICENSE and README, and what package.json points at', () => {
  const { files } = needSetup();
  const paths = new Set(files.map((file) => file.path));
  for (const required of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts']) {
    assert.ok(paths.has(required), `${required} is not in the tarball (it has: ${[...paths].sort().join(', ')})`);
  }
  assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /MIT License/, 'LICENSE is the MIT license');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    main: string;
    types: string;
    exports: Record<string, Record<string, string> | string>;
  };
  const targets = [manifest.main, manifest.types, ...Object.values(manifest.exports).flatMap((entry) => (typeof entry === 'string' ? [entry] : Object.values(entry)))];
  for (const target of targets) assert.ok(existsSync(join(installed, target)), `package.json points at ${target}, which is not shipped`);
});

test('ESM import and CommonJS require() give the same exports', async () => {
  needSetup();
  const exportsOf = `const names = Object.keys(m).filter((name) => name !== '__esModule' && name !== 'default').sort();
if (typeof m.RedisBackend !== 'function' || typeof m.CacheKey !== 'function') throw new Error('no RedisBackend/CacheKey: ' + names);
const backend = m.RedisBackend.builder().connection(m.ConnectionMode.single('redis://127.0.0.1:1')).build();
await backend.close();
console.log(JSON.stringify(names));`;
  writeFileSync(join(app, 'esm.mjs'), `import * as m from '${NAME}';\n${exportsOf}\n`);
  writeFileSync(join(app, 'cjs.cjs'), `const m = require('${NAME}');\n(async () => {\n${exportsOf}\n})().catch((error) => { console.error(error); process.exitCode = 1; });\n`);
  const esm = await run(process.execPath, ['esm.mjs'], app, 20_000);
  const cjs = await run(process.execPath, ['cjs.cjs'], app, 20_000);
  const esmNames = JSON.parse(esm.stdout) as string[];
  const cjsNames = JSON.parse(cjs.stdout) as string[];
  assert.ok(esmNames.length > 10, `ESM import: only ${esmNames.join(', ')}`);
  assert.equal(cjsNames, esmNames, 'require() and import see the same exports');
  assert.not.match(cjs.stderr, /ERR_|Error/, `require() printed: ${cjs.stderr}`);
});

test('the shipped declarations have no @internal text', () => {
  needSetup();
  const declarations = walk(join(installed, 'dist')).filter((file) => file.endsWith('.d.ts'));
  assert.ok(declarations.length > 0, 'no .d.ts files shipped');
  const leaking = declarations.filter((file) => readFileSync(file, 'utf8').includes('@internal'));
  assert.equal(leaking.map((file) => relative(installed, file)), [], 'declarations with @internal text (stripInternal)');
});

test("every source map's file and sources are shipped", () => {
  needSetup();
  const maps = walk(join(installed, 'dist')).filter((file) => file.endsWith('.map'));
  assert.ok(maps.length > 0, 'no source maps shipped');
  const missing: string[] = [];
  let sources = 0;
  for (const map of maps) {
    const content = JSON.parse(readFileSync(map, 'utf8')) as { file: string; sourceRoot?: string; sources: string[] };
    const base = resolve(dirname(map), content.sourceRoot ?? '');
    if (!existsSync(join(dirname(map), content.file))) missing.push(`${relative(installed, map)}: file ${content.file}`);
    for (const source of content.sources) {
      sources++;
      const target = resolve(base, source);
      if (!target.startsWith(installed + '/') || !existsSync(target)) missing.push(`${relative(installed, map)}: ${source}`);
    }
  }
  assert.ok(sources > 0, 'source maps with no sources');
  assert.equal(missing, [], 'source map entries that point at files not in the package');
});

test('the tarball has the bin: dist/scripts/redis-lua-cache.js, shebang first, and the bin entry', () => {
  const { files } = needSetup();
  const paths = new Set(files.map((file) => file.path));
  for (const required of ['dist/scripts/redis-lua-cache.js', 'dist/scripts/generator/cli.js', 'dist/scripts/generator/reply-decoding.js']) {
    assert.ok(paths.has(required), `${required} is not in the tarball`);
  }
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  assert.equal(manifest.bin, { [NAME]: './dist/scripts/redis-lua-cache.js' });
  assert.is(readFileSync(join(installed, 'dist/scripts/redis-lua-cache.js'), 'utf8').split('\n', 1)[0], '#!/usr/bin/env node');
  assert.ok(existsSync(join(app, 'node_modules', '.bin', NAME)), 'npm linked the bin into node_modules/.bin');
});

const GENERATE = ['--no', NAME, 'generate', 'lua', 'scripts'];
const CHECK = ['--no', NAME, 'generate', '--check', 'lua', 'scripts'];

test('npx redis-lua-cache generate without ts-morph says what to install and exits 1', async () => {
  needSetup();
  mkdirSync(join(app, 'lua'), { recursive: true });
  writeFileSync(join(app, 'lua/counter_add.lua'), readFileSync(join(ROOT, 'examples/lua/counter_add.lua'), 'utf8'));
  assert.not.ok(existsSync(join(app, 'node_modules/ts-morph')), 'ts-morph is an optional peer: not installed with the package');
  const without = await runStatus('npx', GENERATE, app, 20_000);
  assert.is(without.status, 1, without.stderr);
  assert.match(without.stderr, 'npm install --save-dev ts-morph@^28');
  assert.not.ok(existsSync(join(app, 'scripts')), 'nothing written');
});

test('with ts-morph installed, generate writes wrappers importing from redis-lua-cache; --check passes, then fails after an edit', async () => {
  needSetup();
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-dev', 'ts-morph@^28'], app, 60_000);
  const generated = await runStatus('npx', GENERATE, app, 30_000);
  assert.is(generated.stderr, '');
  assert.is(generated.status, 0);
  const wrapper = readFileSync(join(app, 'scripts/counter_add.ts'), 'utf8').split('\n');
  assert.is(wrapper[1], "import type { RedisKey, ScriptDefinition, ScriptRunner } from 'redis-lua-cache';");
  assert.ok(wrapper.includes('export function counterAdd(runner: ScriptRunner, counter: RedisKey, amount: number): Promise<CounterAddReply> {'));
  assert.is((await runStatus('npx', CHECK, app, 30_000)).status, 0);
  const script = join(app, 'lua/counter_add.lua');
  const original = readFileSync(script, 'utf8');
  writeFileSync(script, original.replace('What to add', 'What to add, maybe'));
  const drift = await runStatus('npx', CHECK, app, 30_000);
  assert.is(drift.status, 1);
  assert.match(drift.stderr, 'scripts/counter_add.ts differs from the generator output');
  writeFileSync(script, original);
});

test('a strict consumer (skipLibCheck: false) type-checks against the shipped declarations, a generated wrapper run through RedisBackend included', async () => {
  needSetup();
  writeFileSync(
    join(app, 'app.ts'),
    `import { ConnectionMode, RedisBackend } from '${NAME}';
import { allScripts, counterAdd, type CounterAddReply } from './scripts/index.js';

export async function addHit(): Promise<[string, number]> {
  const backend = RedisBackend.builder().connection(ConnectionMode.single('redis://127.0.0.1:1')).build();
  try {
    const total: string = await counterAdd(backend, 'hits:today', 1.5);
    const typed: CounterAddReply = total;
    // @ts-expect-error the amount is a number
    await counterAdd(backend, 'hits:today', '1');
    return [typed, allScripts.length];
  } finally {
    await backend.close();
  }
}
`,
  );
  writeFileSync(
    join(app, 'consumer.ts'),
    `import { RedisBackend, ConnectionMode, CacheKey, CacheValue } from '${NAME}';

const backend: RedisBackend = RedisBackend.builder().connection(ConnectionMode.single('redis://127.0.0.1:6379')).build();
const key = new CacheKey('api', 1, [{ key: 'method', value: 'GET' }, { key: 'flag' }]);

export async function roundTrip(): Promise<string | undefined> {
  await backend.set(key, new CacheValue({ id: 1 }, new Date(Date.now() + 60_000), new Date(Date.now() + 30_000)));
  const hit = await backend.get<{ id: number }>(key);
  const id: number | undefined = hit?.data.id;
  await backend.delete(key);
  await backend.close();
  return id === undefined ? undefined : hit?.cacheState();
}
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noImplicitOverride: true,
          skipLibCheck: false,
          noEmit: true,
          // The app has no @types/node of its own: the project's, as a Node user's app would have one.
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['consumer.ts', 'app.ts'],
      },
      null,
      2,
    ),
  );
  await run(TSC, ['-p', app], app, 60_000);
});

test.run();
