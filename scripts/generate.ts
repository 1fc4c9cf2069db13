/**
 * Generates `generated/<name>.ts` for every `lua/<name>.lua`, plus `generated/index.ts`; the files of
 * `lua/include/` are inlined into the scripts that name them with `---@include`.
 *
 * Usage: `tsx scripts/generate.ts [--check]`. With `--check` it writes nothing and fails when
 * `generated/` differs from what it would write. Either way it fails on any header error.
 *
 * Applications run the same generator through the package's bin (`scripts/redis-lua-cache.ts`).
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { runGenerate } from './generator/cli.js';
import { PROJECT_EMIT } from './generator/emit.js';
import { PROJECT_LAYOUT } from './generator/model.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((argument) => argument !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}; usage: tsx scripts/generate.ts [--check]`);
    return 2;
  }
  return runGenerate({
    luaPath: `${root}lua`,
    outPath: `${root}generated`,
    layout: PROJECT_LAYOUT,
    emit: PROJECT_EMIT,
    check,
    ownedOnly: false,
    log: (line) => console.log(line),
    error: (line) => console.error(line),
  });
}

process.exitCode = main(process.argv.slice(2));
