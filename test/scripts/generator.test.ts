/**
 * Tests of the script wrapper generator (`scripts/`): header parsing and validation, the emitted
 * modules, and the check mode. Fixtures: `test/fixtures/generator/{good,bad}/*.lua`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Node, Project } from 'ts-morph';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMANDS, REDIS_VERSION } from '../../scripts/generator/commands.generated.js';
import { applicationEmitOptions, emitAll, emitScriptModule } from '../../scripts/generator/emit.js';
import { findOutdated, writeGenerated } from '../../scripts/generator/generated-directory.js';
import { keyPositions } from '../../scripts/generator/key-positions.js';
import { stripCommentsAndStrings } from '../../scripts/generator/lua-lexer.js';
import { formatDiagnostic, type LuaSource, type ScriptModel } from '../../scripts/generator/model.js';
import { parseScript, parseScripts } from '../../scripts/generator/parse-scripts.js';
import type { ScriptArgument, ScriptDefinition, ScriptRunner } from '../../src/core/scripting.js';
import { startRedis } from '../helpers/redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/fixtures/generator');

/** A fixture as the generator would see it in lua/, so diagnostics read exactly as the CLI prints them. */
function fixture(kind: 'good' | 'bad', file: string): LuaSource {
  return { path: `lua/${file}`, text: readFileSync(join(fixtures, kind, file), 'utf8') };
}

function parseGood(file: string): ScriptModel {
  const result = parseScript(fixture('good', file));
  assert.equal(result.diagnostics.map(formatDiagnostic), []);
  return result.script!;
}

function errorsOf(source: LuaSource): string[] {
  return parseScript(source).diagnostics.map(formatDiagnostic);
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** The value of the `source` property of the emitted definition, as TypeScript reads the literal. */
function emittedSource(moduleText: string): string {
  const file = new Project({ useInMemoryFileSystem: true }).createSourceFile('emitted.ts', moduleText);
  const initializer = file.getVariableDeclarationOrThrow((declaration) => declaration.isExported()).getInitializer();
  if (!Node.isObjectLiteralExpression(initializer)) throw new Error('the definition is not an object literal');
  const literal = initializer.getPropertyOrThrow('source').getLastChild();
  if (!Node.isNoSubstitutionTemplateLiteral(literal)) throw new Error('source is not a template literal');
  return literal.getLiteralValue();
}

// ---------------------------------------------------------------------------------------------------
// Good fixtures: the model

test('parses a header with keys, optional and union args, flags and a complex return type', () => {
  const script = parseGood('remove_many.lua');
  assert.is(script.name, 'remove_many');
  assert.is(script.functionName, 'removeMany');
  assert.is(script.definitionName, 'removeManyScript');
  assert.is(script.replyTypeName, 'RemoveManyReply');
  assert.equal(script.flags, ['allow-oom', 'no-cluster']);
  assert.is(script.readOnly, false);
  assert.equal(script.description, [
    'Removes up to two entries and replies how many it removed.',
    '',
    'A second paragraph: KEYS[9] in the description is text, not a use.',
  ]);
  assert.equal(script.keys, [
    { name: 'first', variadic: false, description: 'First entry', line: 6 },
    { name: 'second', variadic: false, description: 'Second entry', line: 7 },
  ]);
  assert.equal(script.args, [
    {
      name: 'reason',
      optional: true,
      variadic: false,
      types: ['string', 'Buffer'],
      tsType: 'string | Buffer | null',
      description: 'Why the entries go; absent: no reason',
      line: 8,
    },
    { name: 'limit', optional: false, variadic: false, types: ['integer', 'number'], tsType: 'number', description: 'Upper bound on removals', line: 9 },
  ]);
  assert.is(script.returnType, "[removed: number, names: string[]] | 'NONE' | -1");
  // 'NONE' and the names arrive as Buffers: the wrapper decodes them.
  const eachText = { text: false, items: { elements: [], rest: { text: true, items: undefined } } };
  assert.equal(script.replyDecoding, { text: true, items: { elements: [undefined, eachText], rest: undefined } });
});

test('parses a read-only script without keys or args', () => {
  const script = parseGood('ping.lua');
  assert.is(script.readOnly, true);
  assert.equal(script.flags, ['no-writes', 'allow-stale']);
  assert.equal(script.keys, []);
  assert.equal(script.args, []);
  assert.is(script.returnType, "'PONG'");
  assert.equal(script.description, ['Replies PONG: a script with neither keys nor arguments.']);
});

test('KEYS and ARGV inside comments and strings are not uses', () => {
  const text = [
    '#!lua',
    '--- Mentions KEYS[1] only where Lua does not read it.',
    '---@script quiet',
    '---@key entry The entry',
    '---@return number',
    '',
    "-- KEYS[1]",
    "--[=[ KEYS[1] ]] KEYS[1] ]=]",
    "local a = 'KEYS[1]' .. \"KEYS[1]\" .. [[KEYS[1]]] .. 'it\\'s KEYS[1]'",
    'return 1',
  ].join('\n');
  assert.equal(errorsOf({ path: 'lua/quiet.lua', text }), [
    'lua/quiet.lua:4: @key entry (KEYS[1]) is declared but never used',
  ]);
});

test('stripping comments and strings keeps every line and column', () => {
  const code = "a = 'x' -- c\nb = [==[\nKEYS[1]\n]==] --[[\n]] c = \"q\\\"\" KEYS[2]";
  const stripped = stripCommentsAndStrings(code);
  assert.is(stripped.length, code.length);
  assert.equal(
    stripped.split('\n').map((line) => line.trimEnd()),
    ['a =', 'b =', '', '', '   c =       KEYS[2]'],
  );
});

// ---------------------------------------------------------------------------------------------------
// Good fixtures: the emitted module

test('emits the banner, the imports, the reply type, the definition and the wrapper', () => {
  const source = fixture('good', 'remove_many.lua');
  const text = emitScriptModule(parseGood('remove_many.lua'));
  const lines = text.split('\n');
  assert.is(
    lines[0],
    '// @generated by scripts/generate.ts from lua/remove_many.lua. Do not edit: change the script, then run `npm run generate`.',
  );
  assert.is(lines[1], "import type { RedisKey, ScriptDefinition, ScriptRunner } from '../src/core/scripting.js';");
  assert.ok(
    text.includes("export type RemoveManyReply = [removed: number, names: string[]] | 'NONE' | -1;\n"),
  );
  assert.ok(text.includes('export const removeManyScript: ScriptDefinition = {\n'));
  assert.ok(text.includes(`  sha1: '${sha1(source.text)}',\n  numberOfKeys: 2,\n  readOnly: false,\n};\n`));
  assert.is(emittedSource(text), source.text);
  assert.ok(
    text.includes(
      'export function removeMany(runner: ScriptRunner, first: RedisKey, second: RedisKey, reason: string | Buffer | null, limit: number): Promise<RemoveManyReply> {\n' +
        "  return runner.run(removeManyScript, [first, second, reason === null ? '' : reason, limit]).then(decodeRemoveManyReply);\n" +
        '}\n',
    ),
  );
  assert.ok(text.includes(" * @param reason Why the entries go; absent: no reason (null is sent as '')\n"));
  assert.ok(text.includes(' * @param limit Upper bound on removals\n'));
});

test('a script without keys does not import RedisKey and passes an empty array', () => {
  const text = emitScriptModule(parseGood('ping.lua'));
  assert.ok(text.includes("\nimport type { ScriptDefinition, ScriptRunner } from '../src/core/scripting.js';\n"));
  assert.ok(text.includes('  readOnly: true,\n'));
  assert.ok(
    text.includes(
      'export function ping(runner: ScriptRunner): Promise<PingReply> {\n' +
        '  return runner.run(pingScript, []).then(decodePingReply);\n',
    ),
  );
});

test('the source literal is the exact file text, CRLF, backslashes, backticks and ${ included', () => {
  const text = '#!lua\r\n--- Tricky `text` with ${x} and \\n.\r\n---@script tricky\r\n---@return string\r\n\r\nreturn "\\\\`${"\r\n';
  const result = parseScript({ path: 'lua/tricky.lua', text });
  assert.equal(result.diagnostics, []);
  const emitted = emitScriptModule(result.script!);
  assert.is(emittedSource(emitted), text);
  assert.ok(emitted.includes(`sha1: '${sha1(text)}'`));
});

test('the index re-exports every script and lists every definition sorted by name', () => {
  const files = emitAll([parseGood('remove_many.lua'), parseGood('ping.lua')]);
  assert.equal([...files.keys()], ['ping.ts', 'remove_many.ts', 'index.ts']);
  const index = files.get('index.ts')!;
  assert.ok(index.startsWith('// @generated by scripts/generate.ts from lua/*.lua.'));
  assert.ok(index.includes("export * from './ping.js';\nexport * from './remove_many.js';\n"));
  assert.ok(index.includes('export const allScripts: readonly ScriptDefinition[] = [pingScript, removeManyScript];\n'));
});

test('the emitted modules type-check with the project compiler options, and their types hold', () => {
  const project = new Project({ tsConfigFilePath: join(root, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
  // Virtual files only (never saved): a copy of the contract next to the emitted modules.
  const base = join(fixtures, '.typecheck');
  project.createSourceFile(join(base, 'src/core/scripting.ts'), readFileSync(join(root, 'src/core/scripting.ts'), 'utf8'));
  const files = emitAll([parseGood('remove_many.lua'), parseGood('ping.lua'), parseGood('read_many.lua')]);
  for (const [name, text] of files) project.createSourceFile(join(base, 'generated', name), text);
  project.createSourceFile(
    join(base, 'usage.ts'),
    [
      "import { allScripts, ping, readMany, removeMany, type PingReply, type RemoveManyReply } from './generated/index.js';",
      "import type { ScriptDefinition, ScriptRunner } from './src/core/scripting.js';",
      'export async function use(runner: ScriptRunner): Promise<void> {',
      "  const removed: RemoveManyReply = await removeMany(runner, 'a', Buffer.from('b'), null, 3);",
      "  const pong: 'PONG' = await ping(runner) satisfies PingReply;",
      '  const all: readonly ScriptDefinition[] = allScripts;',
      '  // @ts-expect-error limit is a number and cannot be null',
      "  await removeMany(runner, 'a', 'b', 'why', null);",
      '  // @ts-expect-error the optional reason must still be passed',
      "  await removeMany(runner, 'a', 'b');",
      "  const [count, data, fields] = await readMany(runner, 'index', ['a', Buffer.from('b')], 10, ['x', 'y']);",
      '  const typed: [number, Buffer | null, string | null] = [count, data[0] ?? null, fields[0]?.[0] ?? null];',
      "  await readMany(runner, 'index', [], 0, []);",
      '  // @ts-expect-error the entries are a list of keys',
      "  await readMany(runner, 'index', 'a', 10, []);",
      '  // @ts-expect-error the fields are strings',
      "  await readMany(runner, 'index', ['a'], 10, [1]);",
      '  void [removed, pong, all, typed];',
      '}',
    ].join('\n'),
  );
  const diagnostics = project.getPreEmitDiagnostics();
  assert.is(project.formatDiagnosticsWithColorAndContext(diagnostics), '');
});

test('the wrapper passes keys then args to the runner, null optional args as empty strings', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'generator-run-'));
  try {
    writeGenerated(directory, emitAll([parseGood('remove_many.lua')]));
    const module = (await import(pathToFileURL(join(directory, 'remove_many.ts')).href)) as {
      removeMany: (runner: ScriptRunner, ...rest: unknown[]) => Promise<unknown>;
      removeManyScript: ScriptDefinition;
    };
    const calls: [ScriptDefinition, ScriptArgument[]][] = [];
    const runner: ScriptRunner = { run: async (script, keysAndArguments) => (calls.push([script, keysAndArguments]), 7) };
    assert.is(await module.removeMany(runner, 'k1', 'k2', null, 5), 7);
    await module.removeMany(runner, 'k1', 'k2', 'why', 0);
    assert.is(calls[0]![0], module.removeManyScript);
    assert.equal(calls.map(([, values]) => values), [
      ['k1', 'k2', '', 5],
      ['k1', 'k2', 'why', 0],
    ]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------
// Reply decoding: bulk strings arrive as Buffers, the type decides which become strings

/** Emits `files` into a temporary folder and imports `module` from it. */
async function importEmitted<T>(files: Map<string, string>, module: string, use: (imported: T) => Promise<void>): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'generator-run-'));
  try {
    writeGenerated(directory, files);
    await use((await import(pathToFileURL(join(directory, module)).href)) as T);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const returning = (name: string, returnType: string): LuaSource => ({
  path: `lua/${name}.lua`,
  text: `#!lua\n--- Replies.\n---@script ${name}\n---@return ${returnType}\nreturn 1\n`,
});

test('string and Buffer at one position of the reply are refused, file:line, naming the position', () => {
  const message = (returnType: string, at: string) =>
    `lua/r.lua:4: @return type '${returnType}' has both string and Buffer at ${at}: bulk strings arrive as Buffers, ` +
    'so the wrapper cannot tell which one a reply is; pick one (string: decoded as UTF-8, Buffer: the bytes)';
  const cases: [string, string][] = [
    ['string | Buffer', 'reply'],
    ["Buffer | 'NONE' | null", 'reply'],
    ['(string | Buffer)[]', 'reply[i]'],
    ['[number, [string | null, number] | [Buffer]] | null', 'reply[1][0]'],
    ['[Buffer, number] | string[]', 'reply[0]'],
  ];
  for (const [returnType, at] of cases) assert.equal(errorsOf(returning('r', returnType)), [message(returnType, at)], returnType);
  assert.equal(errorsOf(returning('r', '[string | null, Buffer] | null')), [], 'string and Buffer at different positions');
  assert.equal(errorsOf(returning('r', 'unknown')), []);
});

test('a type without string emits exactly what it did: no decoder, the reply cast', () => {
  for (const returnType of ['number', '[data: Buffer, stale: number | null, pttl: number] | null', 'Buffer[]', 'unknown', '0 | 1']) {
    const text = emitScriptModule(parseScript(returning('r', returnType)).script!);
    assert.not.ok(text.includes('decode'), returnType);
    assert.ok(text.includes('  return runner.run(rScript, []) as Promise<RReply>;\n'), returnType);
  }
});

test('the decoder turns Buffers into strings where the type says string, and leaves the rest as it came', async () => {
  const returnType = "[name: string, data: Buffer, status: string, n: number, names: (string | null)[], pairs: [string, Buffer][]] | 'NONE' | null";
  const model = parseScript(returning('r', returnType)).script!;
  await importEmitted<{ r: (runner: ScriptRunner) => Promise<unknown> }>(emitAll([model]), 'r.ts', async ({ r }) => {
    let reply: unknown;
    const runner: ScriptRunner = { run: async () => reply };
    const bytes = Buffer.from([0xff, 0x00]);
    const pairBytes = Buffer.from('v');
    reply = [Buffer.from('ada'), bytes, 'OK', 3, [Buffer.from('x'), null, 'y'], [[Buffer.from('k'), pairBytes]]];
    const decoded = (await r(runner)) as unknown[];
    assert.is(decoded, reply, 'decoded in place: the same array');
    assert.equal(decoded, ['ada', bytes, 'OK', 3, ['x', null, 'y'], [['k', pairBytes]]]);
    assert.is(decoded[1], bytes, 'a Buffer position keeps its Buffer');
    reply = Buffer.from('NONE');
    assert.is(await r(runner), 'NONE');
    reply = null;
    assert.is(await r(runner), null);
    reply = 'NONE';
    assert.is(await r(runner), 'NONE', 'a status reply is a string already');
  });
});

// ---------------------------------------------------------------------------------------------------
// Variadic keys and arguments

test('a variadic key and arg: the model, RedisKey[] and T[] parameters, and a per-call number of keys', () => {
  const script = parseGood('read_many.lua');
  assert.equal(script.keys.map((key) => [key.name, key.variadic]), [['index', false], ['entries', true]]);
  assert.equal(script.args.map((arg) => [arg.name, arg.variadic, arg.tsType]), [['limit', false, 'number'], ['fields', true, 'string[]']]);
  const text = emitScriptModule(script);
  assert.ok(text.includes('  numberOfKeys: 1,\n'), 'the definition counts the fixed keys');
  assert.ok(
    text.includes(
      'export function readMany(runner: ScriptRunner, index: RedisKey, entries: RedisKey[], limit: number, fields: string[]): Promise<ReadManyReply> {\n' +
        '  return runner.run({ ...readManyScript, numberOfKeys: 1 + entries.length }, [index, ...entries, limit, ...fields]).then(decodeReadManyReply);\n',
    ),
  );
  assert.ok(text.includes(' * @param entries The entries to read (any number of keys: KEYS[2] onwards)\n'));
  assert.ok(text.includes(' * @param fields Fields to read besides d (any number of arguments: ARGV[2] onwards)\n'));

  const only = parseScript({
    path: 'lua/del_all.lua',
    text: "#!lua\n--- Deletes.\n---@script del_all\n---@key entries... Entries\n---@arg values... integer | string Values\n---@return number\nlocal n = 0\nfor i = 1, #KEYS do n = n + redis.call('DEL', KEYS[i]) end\nreturn n + #ARGV + #ARGV[1]\n",
  });
  assert.equal(only.diagnostics.map(formatDiagnostic), []);
  const onlyText = emitScriptModule(only.script!);
  assert.ok(onlyText.includes('export function delAll(runner: ScriptRunner, entries: RedisKey[], values: (number | string)[]): Promise<DelAllReply> {\n'));
  assert.ok(onlyText.includes('  return runner.run({ ...delAllScript, numberOfKeys: entries.length }, [...entries, ...values]) as Promise<DelAllReply>;\n'));
});

test('the variadic wrapper gives the runner a copy of the definition with this call\'s number of keys', async () => {
  await importEmitted<{ readMany: (runner: ScriptRunner, ...rest: unknown[]) => Promise<unknown>; readManyScript: ScriptDefinition }>(
    emitAll([parseGood('read_many.lua')]),
    'read_many.ts',
    async ({ readMany, readManyScript }) => {
      const calls: [ScriptDefinition, ScriptArgument[]][] = [];
      const runner: ScriptRunner = { run: async (script, values) => (calls.push([script, values]), [0, [], []]) };
      await readMany(runner, 'i', ['a', 'b', 'c'], 5, ['x']);
      await readMany(runner, 'i', [], 0, []);
      assert.equal(calls.map(([script, values]) => [script.numberOfKeys, values]), [
        [4, ['i', 'a', 'b', 'c', 5, 'x']],
        [1, ['i', 0]],
      ]);
      assert.is.not(calls[0]![0], readManyScript);
      assert.equal({ ...calls[0]![0], numberOfKeys: 1 }, readManyScript);
      assert.is(readManyScript.numberOfKeys, 1, 'the shared definition is untouched');
    },
  );
});

test('without a variadic tag, dynamic KEYS and ARGV stay refused with the same message', () => {
  assert.equal(errorsOf(returning('r', 'number')), []);
  const text = "#!lua\n--- Loops.\n---@script r\n---@key entry E\n---@return number\nlocal n = #KEYS\nn = n + redis.call('EXISTS', KEYS[n]) + #ARGV\nreturn n + redis.call('EXISTS', KEYS[1])\n";
  assert.equal(errorsOf({ path: 'lua/r.lua', text }), [
    'lua/r.lua:6: dynamic KEYS access is not supported: declare every key with @key',
    'lua/r.lua:7: dynamic KEYS access is not supported: declare every key with @key',
    'lua/r.lua:7: dynamic ARGV access is not supported: declare every argument with @arg',
  ]);
});

// ---------------------------------------------------------------------------------------------------
// Bad fixtures: each error exactly as the generator prints it

const badFixtures: Record<string, string[]> = {
  'missing_shebang.lua': [
    "lua/missing_shebang.lua:1: missing shebang: line 1 must be `#!lua` or `#!lua flags=<flag>,...`; with it, Redis 7 checks the script's flags and out-of-memory before the script starts",
  ],
  'unknown_flag.lua': [
    "lua/unknown_flag.lua:1: unknown shebang flag 'fast': allowed are no-writes, allow-oom, allow-stale, no-cluster",
  ],
  'cross_slot.lua': [
    'lua/cross_slot.lua:1: flag allow-cross-slot-keys is not allowed: a script that accesses keys of several hash slots cannot run in Redis Cluster',
  ],
  'unknown_tag.lua': ['lua/unknown_tag.lua:4: unknown tag @kye: expected @script, @key, @arg, @include or @return'],
  'name_mismatch.lua': [
    "lua/name_mismatch.lua:3: @script name 'other_name' does not match the file name: expected 'name_mismatch'",
  ],
  'undeclared_key.lua': ['lua/undeclared_key.lua:8: KEYS[2] is used but only 1 key is declared'],
  'unused_arg.lua': ['lua/unused_arg.lua:6: @arg ttl (ARGV[2]) is declared but never used'],
  'dynamic_keys.lua': [
    'lua/dynamic_keys.lua:8: dynamic KEYS access is not supported: declare every key with @key',
    'lua/dynamic_keys.lua:9: dynamic KEYS access is not supported: declare every key with @key',
    'lua/dynamic_keys.lua:11: dynamic ARGV access is not supported: declare every argument with @arg',
  ],
  'bad_arg_type.lua': [
    "lua/bad_arg_type.lua:5: unknown @arg type 'Date' in 'Date | integer': allowed are string, number, integer, Buffer",
  ],
  'return_syntax.lua': ["lua/return_syntax.lua:4: @return type '[number, string' is not valid TypeScript: ',' expected."],
  'return_date.lua': [
    "lua/return_date.lua:4: @return type 'Date' is not allowed: a Lua script cannot reply with it (the only type reference allowed is Buffer)",
  ],
  'return_boolean.lua': [
    "lua/return_boolean.lua:4: @return type 'boolean' is not allowed: Redis replies 1 for a Lua true and null for false: write 1 | null",
  ],
  'duplicate_name.lua': ["lua/duplicate_name.lua:5: duplicate name 'entry': already declared on line 4"],
  'reserved_name.lua': ["lua/reserved_name.lua:5: name 'delete' is a reserved word in JavaScript"],
  'missing_description.lua': [
    'lua/missing_description.lua:2: missing description: start the header with `--- <what the script does>`, before the tags',
    'lua/missing_description.lua:3: @key entry needs a description',
  ],
  'missing_return.lua': ['lua/missing_return.lua:4: missing @return tag: add `---@return <TypeScript type of the reply>`'],
  'duplicate_tags.lua': [
    'lua/duplicate_tags.lua:5: duplicate @script tag: already given on line 3',
    'lua/duplicate_tags.lua:6: duplicate @return tag: already given on line 4',
  ],
  'concatenated_key.lua': [
    "lua/concatenated_key.lua:9: GET key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: 'cache:' .. ARGV[1])",
  ],
  'local_key.lua': [
    'lua/local_key.lua:8: HGETALL key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: key)',
  ],
  'dynamic_command.lua': [
    'lua/dynamic_command.lua:8: redis.call command name must be a string literal so its keys can be checked',
    'lua/dynamic_command.lua:9: redis.pcall command name must be a string literal so its keys can be checked',
  ],
  'aliased_call.lua': ['lua/aliased_call.lua:7: redis.call must be called directly'],
  'unknown_command.lua': [
    `lua/unknown_command.lua:8: unknown command SUNIONSTOR: redis-server ${REDIS_VERSION} has no such command`,
  ],
  'argv_key.lua': [
    'lua/argv_key.lua:9: INCRBYFLOAT key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
    "lua/argv_key.lua:10: ZADD key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: 'scores:' .. KEYS[1])",
    'lua/argv_key.lua:11: XADD key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
    'lua/argv_key.lua:12: HINCRBY key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
  ],
  'del_bad_key.lua': [
    "lua/del_bad_key.lua:7: DEL key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: KEYS[1] .. ':lock')",
  ],
  'variadic_key_not_last.lua': [
    'lua/variadic_key_not_last.lua:4: variadic @key entries... must be the last @key: it takes KEYS[1] onwards, so nothing can follow it',
  ],
  'two_variadic_keys.lua': [
    'lua/two_variadic_keys.lua:5: only one @key may be variadic: entries... on line 4 already takes the rest of KEYS',
    'lua/two_variadic_keys.lua:7: only one @arg may be variadic: values... on line 6 already takes the rest of ARGV',
  ],
  'variadic_arg_not_last.lua': [
    'lua/variadic_arg_not_last.lua:5: variadic @arg values... must be the last @arg: it takes ARGV[1] onwards, so nothing can follow it',
  ],
  'optional_variadic_arg.lua': [
    'lua/optional_variadic_arg.lua:5: variadic @arg values... cannot be optional: pass an empty array for no values',
  ],
  'variadic_other_uses.lua': [
    'lua/variadic_other_uses.lua:4: @key index (KEYS[1]) is declared but never used',
    'lua/variadic_other_uses.lua:6: @arg values... (ARGV[1] onwards) is declared but never used',
    'lua/variadic_other_uses.lua:9: KEYS can only be read as KEYS[<expression>] or #KEYS: a use like unpack(KEYS) or ipairs(KEYS) hides its values from the checks',
    'lua/variadic_other_uses.lua:9: DEL key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: unpack(KEYS))',
    'lua/variadic_other_uses.lua:10: ARGV can only be read as ARGV[<expression>] or #ARGV: a use like unpack(ARGV) or ipairs(ARGV) hides its values from the checks',
  ],
  'variadic_unused.lua': [
    'lua/variadic_unused.lua:5: @key entries... (KEYS[2] onwards) is declared but never used',
    'lua/variadic_unused.lua:9: dynamic ARGV access is not supported: declare every argument with @arg',
    'lua/variadic_unused.lua:9: ARGV[2] is used but only 1 arg is declared',
  ],
  'mset_bad_key.lua': [
    'lua/mset_bad_key.lua:11: MSET key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[2])',
  ],
};

test('every bad fixture has its expected errors, and every expectation its fixture', () => {
  assert.equal(readdirSync(join(fixtures, 'bad')).sort(), Object.keys(badFixtures).sort());
});

for (const [file, expected] of Object.entries(badFixtures)) {
  test(`bad fixture ${file}`, () => {
    const result = parseScript(fixture('bad', file));
    assert.is(result.script, undefined);
    assert.equal(result.diagnostics.map(formatDiagnostic), expected);
  });
}

test('header errors: names, tag parts, text after tags, KEYS[0], and one bad tag not shifting the others', () => {
  const text = [
    '#!lua flags=',
    '--- Has many problems.',
    '---@script many',
    '---@key manyScript Hides the definition',
    '---@key',
    '---@key runner The runner',
    '---@arg Bad string Not camelCase',
    '---@arg a? null Not a type',
    '---@arg b string',
    '--- Text after the tags.',
    '---@return',
    '',
    'return { KEYS[0], KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3] }',
  ].join('\n');
  assert.equal(errorsOf({ path: 'lua/many.lua', text }), [
    "lua/many.lua:4: name 'manyScript' would hide the script definition of the same name inside the wrapper",
    'lua/many.lua:5: @key needs a name and a description: `---@key <name> <description>`',
    "lua/many.lua:6: name 'runner' is taken by the wrapper's first parameter",
    "lua/many.lua:7: name 'Bad' must be camelCase (^[a-z][a-zA-Z0-9]*$)",
    "lua/many.lua:8: unknown @arg type 'null' in 'null': allowed are string, number, integer, Buffer (mark an optional argument with `name?`)",
    'lua/many.lua:9: @arg b needs a description',
    'lua/many.lua:10: description text must come before the first tag',
    'lua/many.lua:11: @return needs a TypeScript type: `---@return <type>`',
    'lua/many.lua:13: KEYS[0] is always nil: Lua arrays start at 1',
  ]);
});

test('return types: what a Lua reply can be, and what it cannot', () => {
  const errorsFor = (returnType: string) =>
    errorsOf({
      path: 'lua/r.lua',
      text: `#!lua\n--- Replies.\n---@script r\n---@return ${returnType}\nreturn 1\n`,
    }).map((error) => error.replace(/^lua\/r\.lua:4: /, ''));
  for (const allowed of ['unknown', 'unknown[]', '-1 | 0 | "a" | null', '[Buffer, [number, string][]] | null', '(string)']) {
    assert.equal(errorsFor(allowed), [], allowed);
  }
  assert.equal(errorsFor('any | undefined | { a: number } | [n?: number]'), [
    "@return type 'any' is not allowed: write unknown instead",
    "@return type 'undefined' is not allowed: a Lua nil replies null: write null",
    "@return type '{ a: number }' is not allowed: a Lua table replies as an array: write a tuple or an array type",
    "@return type 'n?: number' is not allowed: optional and rest tuple members are not supported",
  ]);
  assert.equal(errorsFor('number; const x = 1'), [
    "@return type 'number; const x = 1' is not valid TypeScript: it is not a single type",
  ]);
});

test('redis.call keys: multi-line calls, pcall, RENAME, MSET and TIME pass', () => {
  const script = parseGood('key_positions.lua');
  assert.equal(
    script.keys.map((key) => key.name),
    ['source', 'target', 'stamp', 'mover'],
  );
});

test('redis.call keys: what the scanner sees and what it does not', () => {
  const errorsFor = (body: string) =>
    errorsOf({
      path: 'lua/c.lua',
      text: `#!lua\n--- Calls.\n---@script c\n---@key a A\n---@key b B\n---@arg x string X\n---@return unknown\n\n${body}`,
    });
  const allowed = [
    // Comments and strings: neither calls nor argument separators.
    "-- redis.call(x)\nlocal s = 'redis.call(cmd)'\nreturn redis.call('GET', -- the key, really\n KEYS[1]), KEYS[2], ARGV[1]",
    "return redis.call('HSET', KEYS[1], 'a,b', cjson.encode({ 1, 2 }), ARGV[1]), redis.call('PING'), KEYS[2]",
    // Long-bracket names (a line break right after the bracket is not part of it), spaces around the dot.
    'return redis.call([[GET]], KEYS[1]), redis . pcall ( [==[\nGet]==] , KEYS[2] ), ARGV[1]',
    // OBJECT and MEMORY have their key after the subcommand, when they have one.
    "return redis.call('OBJECT', 'HELP'), redis.call('OBJECT', 'ENCODING', KEYS[1]), redis.call('MEMORY', 'USAGE', KEYS[2], 'SAMPLES', ARGV[1])",
    // A spread last argument is fine where no key position follows it, or in parentheses (one value).
    "return redis.call('HSET', KEYS[1], unpack({ ARGV[1] })), redis.call('MSET', KEYS[2], (tostring(1)))",
  ];
  for (const body of allowed) assert.equal(errorsFor(body), [], body);
  assert.equal(
    errorsFor(
      [
        "return redis['call']('GET', KEYS[1], KEYS[2], ARGV[1]),",
        "  redis.call 'TIME',",
        "  pcall(redis.pcall, 'GET', ARGV[1]),",
        "  redis.call('MSET', KEYS[1], 'v', KEYS[2], tostring(1)),",
        "  redis.call('OBJECT', t:encoding'x'),",
        "  redis.call('SET', KEYS[1], redis.call('GET', ARGV[1])),",
        "  redis.call('DEL', KEYS[1] --[[ first ]], KEYS[1]:sub(1, 3)),",
        "  redis.call('G\\69T', KEYS[1]),",
        '  redis.call(),',
        "  redis.call('GET', KEYS[1]",
      ].join('\n'),
    ),
    [
      'lua/c.lua:9: redis.call must be called directly',
      'lua/c.lua:10: redis.call must be called with parentheses so its arguments can be checked',
      'lua/c.lua:11: redis.pcall must be called directly',
      'lua/c.lua:12: MSET last argument may spread several values into key positions: wrap it in parentheses to keep one (found: tostring(1))',
      "lua/c.lua:13: OBJECT subcommand must be a string literal so its keys can be checked (found: t:encoding'x')",
      'lua/c.lua:14: GET key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
      'lua/c.lua:15: DEL key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: KEYS[1]:sub(1, 3))',
      `lua/c.lua:16: unknown command G\\69T: redis-server ${REDIS_VERSION} has no such command`,
      'lua/c.lua:17: redis.call command name must be a string literal so its keys can be checked',
      'lua/c.lua:18: redis.call( has no closing parenthesis',
    ],
  );
  // KEYS[i] in a key position is reported once, as the dynamic access it is.
  assert.equal(errorsFor("for i = 1, 2 do redis.call('DEL', KEYS[i]) end\nreturn KEYS[1], KEYS[2], ARGV[1]"), [
    'lua/c.lua:9: dynamic KEYS access is not supported: declare every key with @key',
  ]);
});

test('redis.call keys: commands an application calls (INCRBYFLOAT, ZADD, XADD, HINCRBY, SET with options...) pass', () => {
  const script = parseGood('app_commands.lua');
  assert.equal(
    script.keys.map((key) => key.name),
    ['counter', 'scores', 'events', 'stats', 'queue'],
  );
});

test('redis.call keys: what the key specifications cannot locate is refused, and why', () => {
  const errorsFor = (body: string) =>
    errorsOf({
      path: 'lua/c.lua',
      text: `#!lua\n--- Calls.\n---@script c\n---@key a A\n---@key b B\n---@arg x string X\n---@return unknown\n\n${body}\nreturn KEYS[1], KEYS[2], ARGV[1]`,
    });
  assert.equal(
    errorsFor(
      [
        "redis.call('WATCH', KEYS[1])",
        "redis.call('config', 'SET', 'maxmemory', '1')",
        "redis.call('XREAD', 'COUNT', 1, 'STREAMS', KEYS[1], '0')",
        "redis.call('SORT', KEYS[1], 'BY', 'w_*')",
        "redis.call('KEYS', 'cache:*')",
        "redis.call('ZUNIONSTORE', KEYS[1], ARGV[1], KEYS[2])",
        "redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[2], ARGV[1])",
        "redis.call('LMPOP', 1, ARGV[1], 'LEFT')",
        "redis.call('OBJECT', ARGV[1], KEYS[1])",
        "redis.call('OBJECT', 'ENCODE', KEYS[1])",
        "redis.call('XINFO', 'STREAM', ARGV[1])",
        "redis.call('MSET', KEYS[1], ARGV[1], ARGV[1], 'v')",
        "redis.call('BITOP', 'AND', KEYS[1], KEYS[2], ARGV[1])",
        "redis.call('SPUBLISH', ARGV[1], 'message')",
      ].join('\n'),
    ),
    [
      'lua/c.lua:9: WATCH is not allowed in scripts: Redis flags it noscript',
      'lua/c.lua:10: CONFIG SET is not allowed in scripts: Redis flags it noscript',
      'lua/c.lua:11: XREAD is refused: its keys follow the keyword STREAMS, which may be at any argument, so their positions cannot be checked',
      'lua/c.lua:12: SORT is refused: the server cannot say which of its arguments are keys',
      'lua/c.lua:13: KEYS is refused: it reads key names that are not passed in KEYS',
      'lua/c.lua:14: ZUNIONSTORE number of keys must be an integer literal so its keys can be checked (found: ARGV[1])',
      'lua/c.lua:15: ZUNIONSTORE key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
      'lua/c.lua:16: LMPOP key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
      'lua/c.lua:17: OBJECT subcommand must be a string literal so its keys can be checked (found: ARGV[1])',
      `lua/c.lua:18: unknown command OBJECT ENCODE: redis-server ${REDIS_VERSION} has no such command`,
      'lua/c.lua:19: XINFO STREAM key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
      'lua/c.lua:20: MSET key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
      'lua/c.lua:21: BITOP key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
      'lua/c.lua:22: SPUBLISH key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: ARGV[1])',
    ],
  );
});

test('the key-position table: committed as the server derives it, and its positions those of COMMAND GETKEYS', async () => {
  // The committed table is what scripts/command-table.ts reads from the redis-server of the PATH.
  const check = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/command-table.ts', '--check'], { cwd: root, encoding: 'utf8' });
  assert.is(check.stderr, '');
  assert.is(check.status, 0);
  assert.match(check.stdout, `up to date with redis-server ${REDIS_VERSION}`);
  assert.ok(Object.keys(COMMANDS).length > 150, 'the table holds every command scripts may call');

  // Where keyPositions puts the keys of a call with literal arguments is where the server finds them.
  const calls = [
    ['INCRBYFLOAT', 'k1', '1.5'],
    ['ZADD', 'k1', 'GT', 'CH', '1', 'm'],
    ['XADD', 'k1', 'MAXLEN', '~', '1000', '*', 'f', 'v'],
    ['HINCRBY', 'k1', 'f', '1'],
    ['SET', 'k1', 'v', 'PX', '100', 'NX', 'GET'],
    ['GETEX', 'k1', 'PERSIST'],
    ['MSET', 'k1', 'v1', 'k2', 'v2'],
    ['DEL', 'k1', 'k2', 'k3'],
    ['BITOP', 'AND', 'k1', 'k2', 'k3'],
    ['ZUNIONSTORE', 'k1', '2', 'k2', 'k3', 'WEIGHTS', '1', '2'],
    ['ZDIFFSTORE', 'k1', '2', 'k2', 'k3'],
    ['LMPOP', '2', 'k1', 'k2', 'LEFT'],
    ['BLMPOP', '0', '2', 'k1', 'k2', 'LEFT'],
    ['ZINTERCARD', '2', 'k1', 'k2', 'LIMIT', '5'],
    ['RENAME', 'k1', 'k2'],
    ['LMOVE', 'k1', 'k2', 'LEFT', 'RIGHT'],
    ['COPY', 'k1', 'k2', 'REPLACE'],
    ['PFMERGE', 'k1', 'k2', 'k3'],
    ['GEOSEARCHSTORE', 'k1', 'k2', 'FROMLONLAT', '0', '0', 'BYRADIUS', '1', 'km'],
    ['OBJECT', 'ENCODING', 'k1'],
    ['MEMORY', 'USAGE', 'k1', 'SAMPLES', '5'],
    ['XINFO', 'STREAM', 'k1', 'FULL'],
    ['XGROUP', 'CREATE', 'k1', 'g', '$'],
    ['EXPIRE', 'k1', '10', 'NX'],
  ];
  const redis = await startRedis();
  try {
    for (const [command, ...args] of calls) {
      const positions = keyPositions(command!, args.map((arg) => `'${arg}'`));
      if ('message' in positions) throw new Error(`${command}: ${positions.message}`);
      const ours = args.filter((_, index) => positions.isKey(index + 1));
      const servers = (await redis.admin.call('COMMAND', 'GETKEYS', command!, ...args)) as string[];
      assert.equal(ours, servers, `${command} ${args.join(' ')}`);
    }
  } finally {
    await redis.stop();
  }
});

test('scripts whose generated exports would clash are rejected', () => {
  const source = (name: string) => ({
    path: `lua/${name}.lua`,
    text: `#!lua\n--- Replies 1.\n---@script ${name}\n---@return number\nreturn 1\n`,
  });
  const { scripts, diagnostics } = parseScripts([source('foo'), source('foo_script'), source('all_scripts')]);
  assert.is(scripts.length, 3);
  assert.equal(diagnostics.map(formatDiagnostic), [
    "lua/foo_script.lua:3: script 'foo_script' would export 'fooScript', which lua/foo.lua exports too",
    "lua/all_scripts.lua:3: script 'all_scripts' would export 'allScripts', which generated/index.ts exports too",
  ]);
});

// ---------------------------------------------------------------------------------------------------
// Includes

const includeFile = (name: string, text: string): LuaSource => ({ path: `lua/include/${name}.lua`, text });
const scriptWith = (name: string, tags: string, body: string): LuaSource => ({
  path: `lua/${name}.lua`,
  text: `#!lua\n--- Does a thing.\n---@script ${name}\n${tags}---@return number\n${body}`,
});
const GET_D = "local function get_d()\n  return redis.call('HGET', KEYS[1], 'd')\nend\n";

test('an include is inlined after the header, its KEYS count as the script\'s, and the SHA covers it', () => {
  const script = scriptWith('a', '---@key entry The entry\n---@include get_d\n', 'return get_d()\n');
  const { scripts, diagnostics } = parseScripts([script], [includeFile('get_d', GET_D)]);
  assert.equal(diagnostics.map(formatDiagnostic), []);
  const model = scripts[0]!;
  assert.equal(model.includes, ['lua/include/get_d.lua']);
  const headerEnd = script.text.indexOf('return get_d()');
  assert.is(model.source, `${script.text.slice(0, headerEnd)}-- lua/include/get_d.lua\n${GET_D}return get_d()\n`);
  const emitted = emitScriptModule(model);
  assert.ok(emitted.startsWith('// @generated by scripts/generate.ts from lua/a.lua and lua/include/get_d.lua.'), emitted.split('\n')[0]);
  assert.is(emittedSource(emitted), model.source);
  assert.ok(emitted.includes(`sha1: '${sha1(model.source)}'`), 'the SHA1 is that of the text sent to Redis');
});

test('an include after a header that ends the file without a newline goes after it, shebang first', () => {
  const script: LuaSource = { path: 'lua/a.lua', text: '#!lua\n--- Replies 1.\n---@script a\n---@include one\n---@return number' };
  const { scripts, diagnostics } = parseScripts([script], [includeFile('one', 'return 1')]);
  assert.equal(diagnostics.map(formatDiagnostic), []);
  assert.is(scripts[0]!.source, `${script.text}\n-- lua/include/one.lua\nreturn 1\n`);
});

test('include errors: unknown, duplicate, bad name, keys beyond the script\'s, unchecked keys, tags, unused', () => {
  const { diagnostics } = parseScripts(
    [
      scriptWith('a', '---@include missing\n---@include bad-name\n', 'return 1\n'),
      scriptWith('b', '---@key entry The entry\n---@include get_d\n---@include get_d\n', 'return get_d()\n'),
      scriptWith('c', '---@include get_d\n---@include other_key\n', 'return 1\n'),
      scriptWith('d', '---@include get_d\n', 'return 1\n-- a body comment is no tag:\n---@include unused\n'),
    ],
    [
      includeFile('get_d', GET_D),
      includeFile('other_key', "---@key nested Not here\nlocal function other_key(name)\n  return redis.call('GET', name)\nend\n"),
      includeFile('unused', 'local function unused() end\n'),
    ],
  );
  assert.equal(diagnostics.map(formatDiagnostic), [
    'lua/a.lua:4: unknown include missing: there is no lua/include/missing.lua',
    'lua/a.lua:5: invalid @include "bad-name": expected the base name of a file in lua/include/, like `entry_state`',
    'lua/b.lua:6: duplicate @include get_d: already included on line 5',
    'lua/include/get_d.lua:2: KEYS[1] is used but no keys are declared (included by lua/c.lua)',
    'lua/include/other_key.lua:3: GET key argument must be KEYS[n]: scripts may only touch keys passed in KEYS (found: name) (included by lua/c.lua)',
    'lua/include/other_key.lua:1: ---@key has no effect in an include: tags belong in the header of a lua/*.lua script',
    'lua/include/unused.lua:1: no script includes this file: remove it or add `---@include unused` to a script',
  ]);
});

test("an application's layout: its folders in messages and banners, the contract imported from 'redis-lua-cache'", () => {
  const layout = { luaDirectory: 'app/lua', outDirectory: 'app/scripts' };
  const script = (name: string, tags: string) => ({
    path: `app/lua/${name}.lua`,
    text: `#!lua\n--- Does a thing.\n---@script ${name}\n${tags}---@return number\nreturn 1\n`,
  });
  const { diagnostics } = parseScripts(
    [script('a', '---@include missing\n---@include bad-name\n'), script('all_scripts', '')],
    [{ path: 'app/lua/include/unused.lua', text: '---@key k K\n' }],
    layout,
  );
  assert.equal(diagnostics.map(formatDiagnostic), [
    'app/lua/a.lua:4: unknown include missing: there is no app/lua/include/missing.lua',
    'app/lua/a.lua:5: invalid @include "bad-name": expected the base name of a file in app/lua/include/, like `entry_state`',
    'app/lua/include/unused.lua:1: ---@key has no effect in an include: tags belong in the header of a app/lua/*.lua script',
    'app/lua/include/unused.lua:1: no script includes this file: remove it or add `---@include unused` to a script',
    "app/lua/all_scripts.lua:3: script 'all_scripts' would export 'allScripts', which app/scripts/index.ts exports too",
  ]);
  const files = emitAll([parseGood('ping.lua')], applicationEmitOptions('app/lua', 'app/scripts'));
  const regenerate = 'Do not edit: change the script, then run `npx redis-lua-cache generate app/lua app/scripts`.';
  assert.is(files.get('ping.ts')!.split('\n', 2).join('\n'), `// @generated by redis-lua-cache from lua/ping.lua. ${regenerate}\nimport type { ScriptDefinition, ScriptRunner } from 'redis-lua-cache';`);
  assert.is(files.get('index.ts')!.split('\n', 2).join('\n'), `// @generated by redis-lua-cache from app/lua/*.lua. ${regenerate}\nimport type { ScriptDefinition } from 'redis-lua-cache';`);
});

// ---------------------------------------------------------------------------------------------------
// Check mode

test('check mode: an untouched tree passes; a changed, stray or deleted file fails, named', () => {
  const directory = mkdtempSync(join(tmpdir(), 'generator-check-'));
  try {
    const files = emitAll([parseGood('remove_many.lua'), parseGood('ping.lua')]);
    writeGenerated(directory, files);
    assert.equal(findOutdated(directory, files), []);

    writeFileSync(join(directory, 'ping.ts'), `${files.get('ping.ts')}// edited\n`);
    assert.equal(findOutdated(directory, files), [{ file: 'ping.ts', problem: 'changed' }]);
    writeGenerated(directory, files);

    writeFileSync(join(directory, 'old.ts'), 'export {};\n');
    assert.equal(findOutdated(directory, files), [{ file: 'old.ts', problem: 'stale' }]);
    writeGenerated(directory, files);

    unlinkSync(join(directory, 'index.ts'));
    assert.equal(findOutdated(directory, files), [{ file: 'index.ts', problem: 'missing' }]);

    // Writing repairs every difference: it also removes files no script generates.
    writeFileSync(join(directory, 'old.ts'), 'export {};\n');
    assert.equal(writeGenerated(directory, files), [
      { file: 'index.ts', problem: 'missing' },
      { file: 'old.ts', problem: 'stale' },
    ]);
    assert.equal(findOutdated(directory, files), []);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('the CLI in check mode passes on the real tree', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate.ts', '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.is(result.stderr, '');
  assert.is(result.status, 0);
  assert.match(result.stdout, 'generated/ is up to date');
});

test.run();
