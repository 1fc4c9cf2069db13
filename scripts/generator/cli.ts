/**
 * One run of the generator, as both command lines do it: `scripts/generate.ts` for the library's own
 * `lua/` and `generated/`, and the package's bin (`npx redis-lua-cache generate`) for an application's.
 * Reads the scripts and their includes, reports every diagnostic as `file:line: message`, then writes
 * the wrappers or checks them.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bannerPrefix, emitAll, type EmitOptions } from './emit.js';
import { findOutdated, writeGenerated, type OutdatedFile } from './generated-directory.js';
import { formatDiagnostic, type Layout, type LuaSource } from './model.js';
import { parseScripts } from './parse-scripts.js';

export interface GenerateRun {
  /** Folder of the scripts on disk; its includes are in its `include/` folder. */
  readonly luaPath: string;
  /** Folder of the generated modules on disk. */
  readonly outPath: string;
  /** The same folders as messages, banners and diagnostics name them. */
  readonly layout: Layout;
  readonly emit: EmitOptions;
  /** Writes nothing; fails when the folder differs from what would be written. */
  readonly check: boolean;
  /**
   * Refuses to overwrite or remove a file of the folder whose first line is not this generator's
   * banner: an application's folder may hold files of its own, which a wrong path must not destroy.
   */
  readonly ownedOnly: boolean;
  readonly log: (line: string) => void;
  readonly error: (line: string) => void;
}

const PROBLEMS: Record<OutdatedFile['problem'], string> = {
  changed: 'differs from the generator output',
  missing: 'is missing',
  stale: 'is not generated from any script',
};

/** Runs the generator once; returns the exit code (0 done or up to date, 1 errors or drift). */
export function runGenerate(run: GenerateRun): number {
  const { layout, check } = run;
  const out = layout.outDirectory;
  const { scripts, diagnostics } = parseScripts(
    readLua(run.luaPath, layout.luaDirectory),
    readLua(join(run.luaPath, 'include'), `${layout.luaDirectory}/include`),
    layout,
  );
  if (diagnostics.length > 0) {
    for (const diagnostic of diagnostics) run.error(formatDiagnostic(diagnostic));
    run.error(`${diagnostics.length} error(s) in ${layout.luaDirectory}/*.lua; ${out}/ was not ${check ? 'checked' : 'changed'}.`);
    return 1;
  }

  const files = emitAll(scripts, run.emit);
  const outdated = findOutdated(run.outPath, files);
  if (run.ownedOnly) {
    const foreign = outdated.filter((entry) => entry.problem !== 'missing' && !isGenerated(join(run.outPath, entry.file), run.emit));
    for (const { file } of foreign) {
      run.error(`${out}/${file} was not written by ${run.emit.generator}: ${out}/ must hold only the generated modules; move the file or choose another folder`);
    }
    if (foreign.length > 0) {
      run.error(`${out}/ was not ${check ? 'checked' : 'changed'}.`);
      return 1;
    }
  }
  if (check) {
    for (const { file, problem } of outdated) run.error(`${out}/${file} ${PROBLEMS[problem]}`);
    if (outdated.length > 0) {
      run.error(`${out}/ is out of date: run \`${run.emit.regenerate}\`.`);
      return 1;
    }
    run.log(`${out}/ is up to date (${files.size} files).`);
    return 0;
  }
  const changed = writeGenerated(run.outPath, files);
  for (const { file, problem } of changed) run.log(`${problem === 'stale' ? 'removed' : 'wrote'} ${out}/${file}`);
  run.log(`${out}/: ${files.size} files, ${changed.length} changed.`);
  return 0;
}

/** The `.lua` files of a folder (none when it does not exist), in name order, as `shown/<file>`. */
function readLua(directory: string, shown: string): LuaSource[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.lua'))
    .map((entry) => entry.name)
    .sort()
    .map((file) => ({ path: `${shown}/${file}`, text: readFileSync(join(directory, file), 'utf8') }));
}

/** Whether `path` is a file whose first line is the banner of files generated with `options`. */
function isGenerated(path: string, options: EmitOptions): boolean {
  try {
    return readFileSync(path, 'utf8').startsWith(bannerPrefix(options));
  } catch {
    return false; // A directory, or unreadable: not ours.
  }
}
