/**
 * Generates `generated/<name>.ts` for every `lua/<name>.lua`, plus `generated/index.ts`; the files of
 * `lua/include/` are inlined into the scripts that name them with `---@include`.
 *
 * Usage: `tsx scripts/generate.ts [--check]`. With `--check` it writes nothing and fails when
 * `generated/` differs from what it would write. Either way it fails on any header error.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emitAll } from './generator/emit.js';
import { findOutdated, writeGenerated, type OutdatedFile } from './generator/generated-directory.js';
import { formatDiagnostic, type LuaSource } from './generator/model.js';
import { parseScripts } from './generator/parse-scripts.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const generatedDirectory = `${root}generated`;

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const unknown = argv.filter((argument) => argument !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}; usage: tsx scripts/generate.ts [--check]`);
    return 2;
  }

  const { scripts, diagnostics } = parseScripts(readLua('lua'), readLua('lua/include'));
  if (diagnostics.length > 0) {
    for (const diagnostic of diagnostics) console.error(formatDiagnostic(diagnostic));
    console.error(`${diagnostics.length} error(s) in lua/*.lua; generated/ was not ${check ? 'checked' : 'changed'}.`);
    return 1;
  }

  const files = emitAll(scripts);
  if (check) {
    const outdated = findOutdated(generatedDirectory, files);
    for (const entry of outdated) console.error(describe(entry));
    if (outdated.length > 0) {
      console.error('generated/ is out of date: run `npm run generate`.');
      return 1;
    }
    console.log(`generated/ is up to date (${files.size} files).`);
    return 0;
  }
  const changed = writeGenerated(generatedDirectory, files);
  for (const { file, problem } of changed) {
    console.log(`${problem === 'stale' ? 'removed' : 'wrote'} generated/${file}`);
  }
  console.log(`generated/: ${files.size} files, ${changed.length} changed.`);
  return 0;
}

/** The `.lua` files of a folder of the repository (none when it does not exist), in name order. */
function readLua(folder: string): LuaSource[] {
  const directory = `${root}${folder}`;
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith('.lua'))
    .sort()
    .map((file) => ({ path: `${folder}/${file}`, text: readFileSync(`${directory}/${file}`, 'utf8') }));
}

const PROBLEMS: Record<OutdatedFile['problem'], string> = {
  changed: 'differs from the generator output',
  missing: 'is missing',
  stale: 'is not generated from any script',
};

function describe({ file, problem }: OutdatedFile): string {
  return `generated/${file} ${PROBLEMS[problem]}`;
}

process.exitCode = main(process.argv.slice(2));
