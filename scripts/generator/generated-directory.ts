/**
 * Writes or checks the `generated/` directory against what emission produced: the directory must hold
 * exactly the emitted files, so that `--check` catches a hand edit, a forgotten `npm run generate` and
 * the module a removed script left behind.
 *
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareCodeUnits } from './code-unit-order.js';

/** How a file of the generated directory differs from what the generator would write. */
export interface OutdatedFile {
  /** File name within the directory. */
  readonly file: string;
  /** `changed`: content differs; `missing`: would be written; `stale`: would not be written. */
  readonly problem: 'changed' | 'missing' | 'stale';
}

/**
 * Compares `directory` with `files` (as `emitAll` returns them): every entry of the directory
 * must be one of `files`, with exactly its text. Returns the differences, sorted by file name.
 */
export function findOutdated(directory: string, files: ReadonlyMap<string, string>): OutdatedFile[] {
  const present = listDirectory(directory);
  const outdated: OutdatedFile[] = [];
  for (const [file, text] of files) {
    if (!present.has(file)) outdated.push({ file, problem: 'missing' });
    else if (present.get(file) !== 'file' || readFileSync(join(directory, file), 'utf8') !== text) {
      outdated.push({ file, problem: 'changed' });
    }
  }
  for (const file of present.keys()) if (!files.has(file)) outdated.push({ file, problem: 'stale' });
  return outdated.sort((a, b) => compareCodeUnits(a.file, b.file));
}

/**
 * Makes `directory` hold exactly `files`: writes those that differ and deletes every other entry, so
 * that a removed script leaves no module behind. Returns what changed.
 */
export function writeGenerated(directory: string, files: ReadonlyMap<string, string>): OutdatedFile[] {
  mkdirSync(directory, { recursive: true });
  const outdated = findOutdated(directory, files);
  for (const { file, problem } of outdated) {
    const path = join(directory, file);
    // A changed entry may be a directory, which writing a file over would fail on.
    if (problem !== 'missing') rmSync(path, { recursive: true, force: true });
    if (problem !== 'stale') writeFileSync(path, files.get(file)!);
  }
  return outdated;
}

/** Entry names of `directory` and whether each is a plain file; empty when it does not exist. */
function listDirectory(directory: string): Map<string, 'file' | 'other'> {
  try {
    const entries = readdirSync(directory, { withFileTypes: true });
    return new Map(entries.map((entry) => [entry.name, entry.isFile() ? 'file' : 'other']));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
}
