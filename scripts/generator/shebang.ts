/**
 * Line 1 of a script: the Redis 7 shebang `#!lua[ flags=<flag>,...]`. With it Redis checks the
 * script's flags (read-only, out-of-memory) before the script starts, so it is required, and only the
 * flags under which a script still runs in Redis Cluster are allowed.
 *
 * @module
 */
import type { Report } from './model.js';

const ALLOWED_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster']);

/** Validates line 1 and returns its flags, or undefined when it is not a usable shebang. */
export function parseShebang(line: string, report: Report): string[] | undefined {
  if (!line.startsWith('#!')) {
    report(
      1,
      'missing shebang: line 1 must be `#!lua` or `#!lua flags=<flag>,...`; ' +
        "with it, Redis 7 checks the script's flags and out-of-memory before the script starts",
    );
    return undefined;
  }
  const match = /^#!lua(?:[ \t]+flags=(\S*))?[ \t]*$/.exec(line);
  if (!match) {
    report(1, 'malformed shebang: expected `#!lua` or `#!lua flags=<flag>,...`');
    return undefined;
  }
  const flags = match[1] ? match[1].split(',') : [];
  let valid = true;
  for (const flag of flags) {
    const problem = flagProblem(flag);
    if (problem) {
      report(1, problem);
      valid = false;
    }
  }
  return valid ? flags : undefined;
}

function flagProblem(flag: string): string | undefined {
  if (ALLOWED_FLAGS.has(flag)) return undefined;
  if (flag === 'allow-cross-slot-keys') {
    return (
      'flag allow-cross-slot-keys is not allowed: ' +
      'a script that accesses keys of several hash slots cannot run in Redis Cluster'
    );
  }
  return `unknown shebang flag '${flag}': allowed are ${[...ALLOWED_FLAGS].join(', ')}`;
}
