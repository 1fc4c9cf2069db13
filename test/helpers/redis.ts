import { createServer } from 'node:net';

import { Redis } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';

import { redisServerBinary } from '../../scripts/redis-server-binary.js';

export { redisServerBinary };

// Servers started by RedisMemoryServer elsewhere in the process (the TLS helper) use the same binary.
try {
  process.env.REDISMS_SYSTEM_BINARY = redisServerBinary();
} catch {
  // startRedis and startCluster throw the message.
}

/** A redis-server process of the test's own, on a free port (never the shared one on 6379). */
export interface RedisUnderTest {
  readonly host: string;
  readonly port: number;
  /** `redis://host:port`. */
  readonly url: string;
  /** A plain ioredis client for inspecting the server (INFO, TYPE, ...) behind the backend's back. */
  readonly admin: Redis;
  /** Stops the server and the admin client. */
  stop(): Promise<void>;
  /** SIGKILLs the server, as a crash would, and resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Starts a redis-server through redis-memory-server (the one on the PATH, see redisServerBinary), with extra
 * command-line `args` such as `['--requirepass', 'secret']`.
 */
export async function startRedis(options: { args?: string[]; port?: number; adminPassword?: string } = {}): Promise<RedisUnderTest> {
  // redis-memory-server treats a port as a wish and quietly takes another when it thinks it is busy; a
  // restart on the same port must get that port, and its arguments come after its own, so --port wins.
  const server = await RedisMemoryServer.create({
    instance: { args: ['--save', '', '--appendonly', 'no', ...(options.args ?? []), ...(options.port ? ['--port', String(options.port)] : [])] },
    binary: { systemBinary: redisServerBinary() },
  });
  const host = await server.getHost();
  const port = options.port ?? (await server.getPort());
  const admin = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1, ...(options.adminPassword ? { password: options.adminPassword } : {}) });
  admin.on('error', () => undefined);
  await admin.connect();
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    admin,
    async stop() {
      admin.disconnect();
      await server.stop();
    },
    async kill() {
      const info = server.getInstanceInfo();
      const child = info ? info.childProcess : undefined;
      admin.disconnect();
      if (child === undefined || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await server.stop();
    },
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Reads one numeric field of `INFO <section>`. */
export async function infoField(admin: Redis, section: string, field: string): Promise<number> {
  const info = await admin.info(section);
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/** Calls per command from `INFO commandstats`, e.g. `{ evalsha: 12, eval_ro: 1 }`. */
export async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm)) calls[match[1] as string] = Number(match[2]);
  return calls;
}

/** The commands a script call is sent as. */
export const SCRIPT_COMMANDS = ['evalsha', 'evalsha_ro', 'eval', 'eval_ro'] as const;

/** Script commands run between two `commandCalls` snapshots, by command. */
export function scriptsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(SCRIPT_COMMANDS.map((name) => [name, (after[name] ?? 0) - (before[name] ?? 0)]));
}

/** All the script calls of a {@link scriptsSince} count. */
export function totalScripts(calls: Record<string, number>): number {
  return SCRIPT_COMMANDS.reduce((sum, name) => sum + (calls[name] ?? 0), 0);
}
