/**
 * Tests of the package's bin (`scripts/redis-lua-cache.ts`, shipped as `dist/scripts/redis-lua-cache.js`)
 * on an application of its own in a temporary folder: `generate` writes wrappers importing from
 * 'redis-lua-cache', `--check` passes and then catches an edit, errors name `file:line`, a file of the
 * application is never overwritten, and the compiled bin says what to install when ts-morph is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project, ts } from 'ts-morph';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../..', import.meta.url));
const source = join(root, 'scripts/redis-lua-cache.ts');
/** tsx by URL: `--import tsx` would resolve it from the working directory, the application's, which has none. */
const tsx = import.meta.resolve('tsx');

const app = mkdtempSync(join(tmpdir(), 'redis-lua-cache-app-'));

const RATE_LIMIT = `#!lua
--- Counts a hit in a fixed window and replies the hits so far; the first hit starts the window.
---@script rate_limit
---@key window The window's counter
---@arg windowMs integer Length of the window, in milliseconds
---@include start_window
---@return number

local hits = redis.call('INCR', KEYS[1])
if hits == 1 then start_window(ARGV[1]) end
return hits
`;
const START_WINDOW = `local function start_window(ms)
  redis.call('PEXPIRE', KEYS[1], ms)
end
`;
const COUNTER = `#!lua
--- Adds to a float counter and replies its new value, as INCRBYFLOAT's decimal string.
---@script counter
---@key total The counter
---@arg amount number What to add
---@return string

return redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
`;

/** A fresh application: its package.json, lua/ and nothing else (the compiled bin stays). */
function writeApp(): void {
  for (const entry of readdirSync(app)) if (entry !== 'pkg') rmSync(join(app, entry), { recursive: true, force: true });
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "type": "module" }\n');
  mkdirSync(join(app, 'lua/include'), { recursive: true });
  writeFileSync(join(app, 'lua/rate_limit.lua'), RATE_LIMIT);
  writeFileSync(join(app, 'lua/include/start_window.lua'), START_WINDOW);
  writeFileSync(join(app, 'lua/counter.lua'), COUNTER);
}

/** The bin as the package ships it, compiled (by the first test) where no node_modules can be found up the tree. */
const pkg = join(app, 'pkg');
const built = join(pkg, 'dist/scripts/redis-lua-cache.js');

/** Runs the compiled bin in the application's folder. */
function bin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [built, ...args], { cwd: app, encoding: 'utf8' });
}

/** Runs the bin from its source, through tsx. */
function fromSource(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', tsx, source, ...args], { cwd: app, encoding: 'utf8' });
}

const listing = (directory: string) => readdirSync(directory).sort();

/**
 * Compiles the files and with the options of tsconfig.bin.json into `outDir`, as `npm run build` does,
 * but file by file (the project compiles with isolatedModules, so the output is the same): a whole
 * `tsc -p` run costs seconds.
 */
function buildBin(outDir: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.bin.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  assert.ok(config && config.errors.length === 0, 'tsconfig.bin.json reads without errors');
  assert.ok(config!.fileNames.includes(source), 'tsconfig.bin.json compiles the bin');
  // Under NodeNext a file is ESM by the package.json above it, which transpileModule does not read: the
  // package's says "type": "module", so ES modules it is.
  const compilerOptions = { ...config!.options, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler };
  for (const file of config!.fileNames) {
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file, reportDiagnostics: true });
    assert.equal(diagnostics, [], file);
    const output = join(outDir, relative(root, file).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, outputText);
  }
}

test('the compiled bin: a shebang, says what to install without ts-morph, and generates what the source does with it', () => {
  writeApp();
  mkdirSync(pkg);
  writeFileSync(join(pkg, 'package.json'), '{ "name": "redis-lua-cache", "type": "module" }\n');
  buildBin(join(pkg, 'dist'));
  assert.is(readFileSync(built, 'utf8').split('\n', 1)[0], '#!/usr/bin/env node');

  const without = bin('generate', 'lua', 'from-build');
  assert.is(without.status, 1);
  assert.match(without.stderr, 'needs ts-morph, an optional peer dependency of redis-lua-cache');
  assert.match(without.stderr, '\n  npm install --save-dev ts-morph@^28\n');
  assert.not.ok(existsSync(join(app, 'from-build')));

  // From here on the compiled bin finds ts-morph, as in an application that installed it.
  mkdirSync(join(pkg, 'node_modules'));
  symlinkSync(join(root, 'node_modules/ts-morph'), join(pkg, 'node_modules/ts-morph'), 'dir');
  const withTsMorph = bin('generate', 'lua', 'from-build');
  assert.is(withTsMorph.stderr, '');
  assert.is(withTsMorph.status, 0);
  assert.is(fromSource('generate', 'lua', 'from-source').status, 0);
  assert.equal(listing(join(app, 'from-build')), ['counter.ts', 'index.ts', 'rate_limit.ts']);
  for (const file of listing(join(app, 'from-source'))) {
    const fromSourceText = readFileSync(join(app, 'from-source', file), 'utf8');
    assert.is(readFileSync(join(app, 'from-build', file), 'utf8'), fromSourceText.replaceAll('lua from-source', 'lua from-build'), file);
  }
});

test('usage: --help, no command, a wrong command, a missing folder or an unknown option print it and exit 2', () => {
  const help = bin('--help');
  assert.is(help.status, 2);
  assert.match(help.stdout, 'usage: redis-lua-cache generate [--check] <lua-dir> <out-dir>');
  for (const args of [[], ['build', 'lua', 'out'], ['generate', 'lua'], ['generate', '--force', 'lua', 'out']]) {
    const run = bin(...args);
    assert.is(run.status, 2, args.join(' '));
    assert.match(run.stderr, 'usage: redis-lua-cache generate [--check] <lua-dir> <out-dir>');
  }
  const missing = bin('generate', 'nowhere', 'out');
  assert.is(missing.status, 1);
  assert.is(missing.stderr, 'redis-lua-cache: nowhere is not a directory\n');
});

test('generate writes wrappers importing from redis-lua-cache; --check passes, then fails after an edit', () => {
  writeApp();
  const generated = bin('generate', 'lua', 'src/scripts');
  assert.is(generated.stderr, '');
  assert.is(generated.status, 0);
  assert.match(generated.stdout, 'src/scripts/: 3 files, 3 changed.');
  assert.equal(listing(join(app, 'src/scripts')), ['counter.ts', 'index.ts', 'rate_limit.ts']);
  const rateLimit = readFileSync(join(app, 'src/scripts/rate_limit.ts'), 'utf8').split('\n');
  assert.is(
    rateLimit[0],
    '// @generated by redis-lua-cache from lua/rate_limit.lua and lua/include/start_window.lua. Do not edit: change the script, then run `npx redis-lua-cache generate lua src/scripts`.',
  );
  assert.is(rateLimit[1], "import type { RedisKey, ScriptDefinition, ScriptRunner } from 'redis-lua-cache';");
  assert.ok(rateLimit.includes('export function rateLimit(runner: ScriptRunner, window: RedisKey, windowMs: number): Promise<RateLimitReply> {'));
  assert.ok(rateLimit.includes('  redis.call(\'PEXPIRE\', KEYS[1], ms)'), 'the include is inlined');

  const upToDate = bin('generate', '--check', 'lua', 'src/scripts');
  assert.is(upToDate.status, 0);
  assert.is(upToDate.stdout, 'src/scripts/ is up to date (3 files).\n');

  writeFileSync(join(app, 'lua/counter.lua'), COUNTER.replace('What to add', 'What to add; negative subtracts'));
  const drift = bin('generate', '--check', 'lua', 'src/scripts');
  assert.is(drift.status, 1);
  assert.is(
    drift.stderr,
    'src/scripts/counter.ts differs from the generator output\nsrc/scripts/ is out of date: run `npx redis-lua-cache generate lua src/scripts`.\n',
  );
  rmSync(join(app, 'lua/counter.lua'));
  const removed = bin('generate', '--check', 'lua', 'src/scripts');
  assert.is(removed.status, 1);
  assert.match(removed.stderr, 'src/scripts/counter.ts is not generated from any script');
});

test('errors are printed as file:line, includes included, and nothing is written', () => {
  writeApp();
  assert.is(bin('generate', 'lua', 'out').status, 0);
  const before = readFileSync(join(app, 'out/rate_limit.ts'), 'utf8');
  writeFileSync(join(app, 'lua/rate_limit.lua'), RATE_LIMIT.replace("redis.call('INCR', KEYS[1])", "redis.call('INCR', 'rl:' .. ARGV[1])"));
  writeFileSync(join(app, 'lua/include/start_window.lua'), START_WINDOW.replace('KEYS[1]', 'ms'));
  const run = bin('generate', 'lua', 'out');
  assert.is(run.status, 1);
  assert.is(
    run.stderr,
    [
      'lua/include/start_window.lua:2: PEXPIRE key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ms) (included by lua/rate_limit.lua)',
      'lua/rate_limit.lua:4: @key window (KEYS[1]) is declared but never used',
      "lua/rate_limit.lua:9: INCR key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: 'rl:' .. ARGV[1])",
      '3 error(s) in lua/*.lua; out/ was not changed.',
      '',
    ].join('\n'),
  );
  assert.is(readFileSync(join(app, 'out/rate_limit.ts'), 'utf8'), before);
});

test("a file of the application's own in the output folder is neither overwritten nor removed", () => {
  writeApp();
  mkdirSync(join(app, 'src'));
  writeFileSync(join(app, 'src/index.ts'), 'export const mine = 1;\n');
  writeFileSync(join(app, 'src/server.ts'), 'export {};\n');
  const run = bin('generate', 'lua', 'src');
  assert.is(run.status, 1);
  assert.is(
    run.stderr,
    [
      'src/index.ts was not written by redis-lua-cache: src/ must hold only the generated modules; move the file or choose another folder',
      'src/server.ts was not written by redis-lua-cache: src/ must hold only the generated modules; move the file or choose another folder',
      'src/ was not changed.',
      '',
    ].join('\n'),
  );
  assert.equal(listing(join(app, 'src')), ['index.ts', 'server.ts']);
  assert.is(readFileSync(join(app, 'src/index.ts'), 'utf8'), 'export const mine = 1;\n');
});

test('the wrappers written for an application, and examples/generated, type-check against the runner contract', () => {
  writeApp();
  assert.is(bin('generate', 'lua', 'src/scripts').status, 0);
  const examples = spawnSync(process.execPath, [built, 'generate', '--check', 'examples/lua', 'examples/generated'], { cwd: root, encoding: 'utf8' });
  assert.is(examples.stderr, '');
  assert.is(examples.status, 0);

  const project = new Project({
    tsConfigFilePath: join(root, 'tsconfig.json'),
    skipAddingFilesFromTsConfig: true,
    // 'redis-lua-cache' stands for the contract the package's entry re-exports (RedisKey, ScriptDefinition,
    // ScriptRunner), from the source: dist may be absent or stale, and the whole entry is slow to check.
    compilerOptions: { paths: { 'redis-lua-cache': [join(root, 'src/core/scripting.ts')] } },
  });
  project.addSourceFilesAtPaths([join(app, 'src/scripts/*.ts'), join(root, 'examples/generated/*.ts')]);
  project.createSourceFile(
    join(app, 'src/usage.ts'),
    [
      "import type { ScriptRunner } from 'redis-lua-cache';",
      "import { counter, rateLimit, allScripts } from './scripts/index.js';",
      `import { counterAdd } from '${join(root, 'examples/generated/counter_add.js')}';`,
      'export async function use(runner: ScriptRunner): Promise<[number, string, string, number]> {',
      "  const hits: number = await rateLimit(runner, 'rl:user:1', 60_000);",
      "  const total: string = await counter(runner, Buffer.from('total'), 2.5);",
      "  const today: string = await counterAdd(runner, 'hits:today', 1);",
      "  // @ts-expect-error windowMs is a number",
      "  await rateLimit(runner, 'rl:user:1', '60000');",
      '  return [hits, total, today, allScripts.length];',
      '}',
    ].join('\n'),
  );
  const diagnostics = project.getPreEmitDiagnostics();
  assert.is(project.formatDiagnosticsWithColorAndContext(diagnostics), '');
});

test.after(() => rmSync(app, { recursive: true, force: true }));

test.run();
