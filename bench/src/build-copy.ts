/**
 * Builds the library's sources of a git revision, or of the working tree, into a folder of its own with the
 * project's `tsc -p tsconfig.build.json`, as the package ships: for the benchmarks that run outside the
 * harness and load the library themselves (src/otel-cost.ts, src/batching-ab.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds `revision` (the working tree when `null`) into `dir`, its node_modules a link to the root's; returns its dist/ folder. */
export function buildCopy(dir: string, revision: string | null): string {
  mkdirSync(dir, { recursive: true });
  const files = ['src', 'generated', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
  const copy =
    revision === null
      ? spawnSync('bash', ['-c', `cp -r ${files.join(' ')} ${JSON.stringify(dir)}`], { cwd: ROOT, encoding: 'utf8' })
      : spawnSync('bash', ['-c', `git archive ${revision} ${files.join(' ')} | tar -x -C ${JSON.stringify(dir)}`], { cwd: ROOT, encoding: 'utf8' });
  if (copy.status !== 0) throw new Error(`copying ${revision ?? 'the working tree'}: ${copy.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`building ${revision ?? 'the working tree'}: ${tsc.stdout}${tsc.stderr}`);
  return join(dir, 'dist');
}

/** The median of `values` (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
