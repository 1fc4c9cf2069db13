import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

let resolvedBinary: string | undefined;

/**
 * The redis-server the tests, the benchmark and the demo start: `REDISMS_SYSTEM_BINARY` if set, else the
 * first `redis-server` on the PATH (looked up once). Throws, naming the PATH, when there is none:
 * redis-memory-server would otherwise try to download and build one.
 */
export function redisServerBinary(): string {
  if (resolvedBinary !== undefined) return resolvedBinary;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  const found = process.env.REDISMS_SYSTEM_BINARY || dirs.map((dir) => join(dir, 'redis-server')).find(isExecutable);
  if (!found) throw new Error(`redis-server not found on the PATH (${dirs.join(delimiter) || 'PATH is empty'}): install Redis 7 or later, or set REDISMS_SYSTEM_BINARY to its redis-server`);
  return (resolvedBinary = found);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
