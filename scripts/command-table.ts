/**
 * Writes `scripts/generator/commands.generated.ts`, the key specifications of every command Redis allows
 * in a script, from the server's own `COMMAND INFO`: it starts the redis-server of the PATH (see
 * `redis-server-binary.ts`) on a free loopback port of its own, reads the table and stops the server.
 * Commands flagged `noscript` are listed by name only, so that the generator can say why it refuses them.
 *
 * Usage: `npm run generate:commands` (`tsx scripts/command-table.ts [--check]`). With `--check` it
 * writes nothing and fails when the committed table differs from what the server reports.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { compareCodeUnits } from './generator/code-unit-order.js';
import type { BeginSearch, CommandSpec, FindKeys, KeySpec } from './generator/command-specs.js';
import { redisServerBinary } from './redis-server-binary.js';

const TABLE_PATH = fileURLToPath(new URL('generator/commands.generated.ts', import.meta.url));

/** What the server reports, reduced to what the generator needs. */
export interface CommandTable {
  /** `redis_version` of the server read. */
  readonly version: string;
  /** Commands allowed in scripts, by upper-case name. */
  readonly commands: ReadonlyMap<string, CommandSpec>;
  /** Commands and subcommands flagged `noscript`, upper-case, a subcommand as `CONFIG GET`; sorted. */
  readonly noscript: readonly string[];
}

/** A RESP2 reply as ioredis returns it. */
type Reply = string | number | null | Reply[];

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  if (argv.some((argument) => argument !== '--check')) {
    console.error('usage: tsx scripts/command-table.ts [--check]');
    return 2;
  }
  const table = await readCommandTable();
  const text = renderCommandTable(table);
  const path = 'scripts/generator/commands.generated.ts';
  if (check) {
    if (readFileSync(TABLE_PATH, 'utf8') !== text) {
      console.error(`${path} differs from the COMMAND INFO of redis-server ${table.version}: run \`npm run generate:commands\`.`);
      return 1;
    }
    console.log(`${path} is up to date with redis-server ${table.version} (${table.commands.size} commands).`);
    return 0;
  }
  writeFileSync(TABLE_PATH, text);
  console.log(`wrote ${path}: ${table.commands.size} commands of redis-server ${table.version}, ${table.noscript.length} noscript.`);
  return 0;
}

/** Starts a redis-server of its own, reads its command table and stops it. */
export async function readCommandTable(): Promise<CommandTable> {
  const { child, port } = await startServer();
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = (await client.call('COMMAND', 'INFO')) as Reply[];
    const version = /^redis_version:(\S+)/m.exec(await client.info('server'))?.[1] ?? 'unknown';
    return parseCommandInfo(info, version);
  } finally {
    client.disconnect();
    await stopServer(child);
  }
}

/** Turns the reply of `COMMAND INFO` (every command) into the table. */
export function parseCommandInfo(info: readonly Reply[], version: string): CommandTable {
  const commands = new Map<string, CommandSpec>();
  const noscript: string[] = [];
  for (const entry of info) {
    if (!Array.isArray(entry)) continue;
    const spec = commandSpec(entry, noscript);
    if (spec) commands.set(String(entry[0]).toUpperCase(), spec);
  }
  return { version, commands: new Map([...commands].sort(([a], [b]) => compareCodeUnits(a, b))), noscript: noscript.sort(compareCodeUnits) };
}

/**
 * One entry of `COMMAND INFO`: name, arity, flags, first key, last key, step, ACL categories, tips,
 * key specifications, subcommands. Undefined, and its name added to `noscript`, when scripts may not call it.
 */
function commandSpec(entry: readonly Reply[], noscript: string[]): CommandSpec | undefined {
  const name = String(entry[0]).toUpperCase().replace('|', ' ');
  const flags = Array.isArray(entry[2]) ? entry[2].map(String) : [];
  if (flags.includes('noscript')) {
    noscript.push(name);
    return undefined;
  }
  const keySpecs = (Array.isArray(entry[8]) ? entry[8] : []).map((spec) => keySpec(pairs(spec)));
  const subcommandEntries = Array.isArray(entry[9]) ? entry[9] : [];
  if (subcommandEntries.length === 0) return { keySpecs };
  const subcommands: [string, CommandSpec][] = [];
  for (const subcommand of subcommandEntries) {
    if (!Array.isArray(subcommand)) continue;
    const spec = commandSpec(subcommand, noscript);
    if (spec) subcommands.push([String(subcommand[0]).toUpperCase().replace(/^[^|]*\|/, ''), spec]);
  }
  subcommands.sort(([a], [b]) => compareCodeUnits(a, b));
  return { keySpecs, subcommands: Object.fromEntries(subcommands) };
}

function keySpec(spec: ReadonlyMap<string, Reply>): KeySpec {
  const flags = spec.get('flags');
  return {
    begin: beginSearch(pairs(spec.get('begin_search') ?? [])),
    find: findKeys(pairs(spec.get('find_keys') ?? [])),
    flags: Array.isArray(flags) ? flags.map(String) : [],
  };
}

function beginSearch(search: ReadonlyMap<string, Reply>): BeginSearch {
  const spec = pairs(search.get('spec') ?? []);
  switch (search.get('type')) {
    case 'index':
      return { type: 'index', index: Number(spec.get('index')) };
    case 'keyword':
      return { type: 'keyword', keyword: String(spec.get('keyword')), startFrom: Number(spec.get('startfrom')) };
    default:
      return { type: 'unknown' };
  }
}

function findKeys(find: ReadonlyMap<string, Reply>): FindKeys {
  const spec = pairs(find.get('spec') ?? []);
  switch (find.get('type')) {
    case 'range':
      return { type: 'range', lastKey: Number(spec.get('lastkey')), step: Number(spec.get('keystep')), limit: Number(spec.get('limit')) };
    case 'keynum':
      return { type: 'keynum', keyNumIndex: Number(spec.get('keynumidx')), firstKey: Number(spec.get('firstkey')), step: Number(spec.get('keystep')) };
    default:
      return { type: 'unknown' };
  }
}

/** A RESP2 flattened map (`[key, value, key, value...]`) as a Map; empty when it is not an array. */
function pairs(reply: Reply): Map<string, Reply> {
  const map = new Map<string, Reply>();
  if (!Array.isArray(reply)) return map;
  for (let index = 0; index + 1 < reply.length; index += 2) map.set(String(reply[index]), reply[index + 1]!);
  return map;
}

/** The text of `commands.generated.ts`: one line per command, or per subcommand. */
export function renderCommandTable(table: CommandTable): string {
  const lines = [
    `// @generated by scripts/command-table.ts from the COMMAND INFO of redis-server ${table.version}. Do not edit: run \`npm run generate:commands\`.`,
    "import type { CommandSpec } from './command-specs.js';",
    '',
    '/** The redis-server this table was read from. */',
    `export const REDIS_VERSION = '${table.version}';`,
    '',
    '/** The commands a script may call (not flagged `noscript`), by upper-case name, with their key specifications. */',
    'export const COMMANDS: Readonly<Record<string, CommandSpec>> = {',
  ];
  for (const [name, spec] of table.commands) {
    if (spec.subcommands === undefined) {
      lines.push(`  ${quote(name)}: ${literal(spec)},`);
      continue;
    }
    lines.push(`  ${quote(name)}: {`, `    keySpecs: ${literal(spec.keySpecs)},`, '    subcommands: {');
    for (const [subcommand, subspec] of Object.entries(spec.subcommands)) lines.push(`      ${quote(subcommand)}: ${literal(subspec)},`);
    lines.push('    },', '  },');
  }
  lines.push(
    '};',
    '',
    '/** Commands and subcommands (`CONFIG GET`) the server refuses in scripts: flagged `noscript`. */',
    'export const NOSCRIPT_COMMANDS: readonly string[] = [',
    ...table.noscript.map((name) => `  ${quote(name)},`),
    '];',
    '',
  );
  return lines.join('\n');
}

/** A value as a TypeScript literal on one line: single-quoted strings, unquoted property names. */
function literal(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length === 0 ? '{}' : `{ ${entries.map(([key, item]) => `${key}: ${literal(item)}`).join(', ')} }`;
}

function quote(text: string): string {
  return `'${text.replace(/[\\']/g, '\\$&')}'`;
}

/** Starts redis-server on a free loopback port, without persistence; retries when the port was taken meanwhile. */
async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const binary = redisServerBinary();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const onData = () => {
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) return { child, port };
    await stopServer(child);
    if (attempt === 3) throw new Error(`redis-server ${binary} did not start on port ${port}:\n${output}`);
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
