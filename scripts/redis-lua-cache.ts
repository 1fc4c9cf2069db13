#!/usr/bin/env node
/**
 * The package's bin: generates typed wrappers for an application's own Lua scripts.
 *
 * ```
 * npx redis-lua-cache generate <lua-dir> <out-dir>           writes <out-dir>/<name>.ts and index.ts
 * npx redis-lua-cache generate --check <lua-dir> <out-dir>   exits 1 when <out-dir> is out of date
 * ```
 *
 * Same header grammar, validation and includes (`<lua-dir>/include/`) as the library's own scripts; the
 * wrappers import their types from `'redis-lua-cache'`. The generator needs ts-morph, an optional peer
 * dependency: without it the bin says what to install and exits 1. Usage errors exit 2.
 *
 * Shipped compiled (`dist/scripts/redis-lua-cache.js`, see `tsconfig.bin.json`); imports nothing of
 * the library's runtime, and the generator only once ts-morph is known to resolve.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';

const USAGE = [
  'usage: redis-lua-cache generate [--check] <lua-dir> <out-dir>',
  '',
  '  Writes <out-dir>/<name>.ts, a typed wrapper, for every <lua-dir>/<name>.lua, and <out-dir>/index.ts;',
  '  the files of <lua-dir>/include/ are inlined into the scripts that name them with ---@include.',
  '  <out-dir> must hold only generated modules: a file of its own there is never overwritten or removed.',
  '',
  '  --check   write nothing; exit 1 when <out-dir> differs from what would be written',
  '  --help    print this help',
].join('\n');

/** What to install when ts-morph does not resolve: the major version the generator is written against. */
const TS_MORPH_INSTALL = 'npm install --save-dev ts-morph@^28';

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 2;
  }
  const [command, ...rest] = argv;
  const check = rest.includes('--check');
  const paths = rest.filter((argument) => argument !== '--check');
  const option = paths.find((argument) => argument.startsWith('-'));
  if (command !== 'generate' || option !== undefined || paths.length !== 2) {
    const problem =
      command !== 'generate'
        ? command === undefined
          ? 'missing command'
          : `unknown command ${command}`
        : option !== undefined
          ? `unknown option ${option}`
          : 'expected <lua-dir> and <out-dir>';
    console.error(`redis-lua-cache: ${problem}\n${USAGE}`);
    return 2;
  }
  const [luaDirectory, outDirectory] = paths as [string, string];
  if (!existsSync(luaDirectory) || !statSync(luaDirectory).isDirectory()) {
    console.error(`redis-lua-cache: ${luaDirectory} is not a directory`);
    return 1;
  }

  try {
    await import('ts-morph');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String(error).includes('ts-morph')) throw error;
    console.error(
      'redis-lua-cache generate needs ts-morph, an optional peer dependency of redis-lua-cache, and it is not installed. Install it:\n' +
        `  ${TS_MORPH_INSTALL}`,
    );
    return 1;
  }
  const [{ runGenerate }, { applicationEmitOptions }] = await Promise.all([import('./generator/cli.js'), import('./generator/emit.js')]);
  const layout = { luaDirectory: shown(luaDirectory), outDirectory: shown(outDirectory) };
  return runGenerate({
    luaPath: resolve(luaDirectory),
    outPath: resolve(outDirectory),
    layout,
    emit: applicationEmitOptions(layout.luaDirectory, layout.outDirectory),
    check,
    ownedOnly: true,
    log: (line) => console.log(line),
    error: (line) => console.error(line),
  });
}

/** A folder as messages and banners name it: relative to the working directory, with `/`, so that it is the same on every machine. */
function shown(path: string): string {
  const fromHere = relative(process.cwd(), resolve(path)).split(sep).join('/');
  return fromHere === '' ? '.' : fromHere;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
