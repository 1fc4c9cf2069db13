/**
 * TLS for tests: a throw-away public key infrastructure made with the `openssl` CLI (OpenSSL 3), and TLS-only
 * redis-server processes started through redis-memory-server (the system binary, see package.json).
 *
 * Notes on redis-memory-server 0.17 (node_modules/redis-memory-server/lib/util/RedisInstance.js):
 * - it always passes `--save '' --appendonly no --bind 127.0.0.1 --port <a free port it picked>` first and our
 *   `args` after them; redis-server lets a later argument win, so our `--port 0` turns the plain port off;
 * - it resolves `start()` when the server prints "Ready to accept connections", which a TLS-only server prints
 *   as well; a line "Address already in use" (our TLS port was taken meanwhile) makes it reject, and we retry
 *   on another port;
 * - its own `getPort()` reports the plain port it asked for, which is off: use `tlsPort` instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis, type RedisOptions } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';

import { freePort } from './redis.js';

/** A certificate and its private key, as files and as PEM text. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** Everything {@link createTestPki} made. */
export interface TestPki {
  /** The temporary directory holding every file. */
  readonly dir: string;
  /** The test certificate authority (self-signed). */
  readonly ca: CertificateFiles;
  /** Server certificate signed by `ca`, subjectAltName `DNS:localhost, IP:127.0.0.1`, usable as a client certificate too. */
  readonly server: CertificateFiles;
  /** Server certificate signed by `ca` that names `DNS:localhost` only: connecting to 127.0.0.1 fails host name verification. */
  readonly localhostOnly: CertificateFiles;
  /** Client certificate signed by `ca` (for mutual TLS), subject `CN=redis-lua-cache test client`. */
  readonly client: CertificateFiles;
  /** A second, unrelated self-signed CA and a server certificate it signed (same names as `server`): nobody trusts it. */
  readonly untrusted: { readonly ca: CertificateFiles; readonly server: CertificateFiles };
  /** Removes `dir`. Idempotent. */
  cleanup(): void;
}

// `openssl req` insists on a configuration with a distinguished_name section; everything else is on the command line.
const MINIMAL_CONFIG = '[req]\ndistinguished_name = dn\n[dn]\n';
const DAYS = '2';

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`openssl ${args.slice(0, 2).join(' ')} ... exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** `openssl req -x509`: a new EC P-256 key and a certificate, self-signed, or signed by `issuer` when given. */
async function certificate(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
  issuer?: CertificateFiles,
): Promise<CertificateFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl(
    [
      'req', '-x509', '-new',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile,
      '-days', DAYS, '-subj', subject,
      '-config', join(dir, 'openssl.cnf'),
      ...(issuer ? ['-CA', issuer.certFile, '-CAkey', issuer.keyFile] : []),
      ...extensions.flatMap((extension) => ['-addext', extension]),
    ],
    dir,
  );
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
// Redis nodes present their server certificate as a client certificate too (cluster bus, replication).
const LEAF = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth,clientAuth'];
const SERVER_NAMES = 'subjectAltName=DNS:localhost,IP:127.0.0.1';

/**
 * Generates, into a fresh temporary directory, a test CA, certificates it signed (server, localhost-only server,
 * client) and an unrelated, untrusted CA with a server certificate. Takes some tens of milliseconds.
 */
export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
  try {
    writeFileSync(join(dir, 'openssl.cnf'), MINIMAL_CONFIG);
    const [ca, untrustedCa] = await Promise.all([
      certificate(dir, 'ca', '/CN=redis-lua-cache test CA', CA_EXTENSIONS),
      certificate(dir, 'untrusted-ca', '/CN=untrusted test CA', CA_EXTENSIONS),
    ]);
    const [server, localhostOnly, client, untrustedServer] = await Promise.all([
      certificate(dir, 'server', '/CN=localhost', [...LEAF, SERVER_NAMES], ca),
      certificate(dir, 'localhost-only', '/CN=localhost', [...LEAF, 'subjectAltName=DNS:localhost'], ca),
      certificate(dir, 'client', '/CN=redis-lua-cache test client', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'], ca),
      certificate(dir, 'untrusted-server', '/CN=localhost', [...LEAF, SERVER_NAMES], untrustedCa),
    ]);
    return {
      dir,
      ca,
      server,
      localhostOnly,
      client,
      untrusted: { ca: untrustedCa, server: untrustedServer },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The `redis-server` arguments that make a server TLS-only on `tlsPort`. */
export function tlsServerArgs(options: {
  tlsPort: number;
  certFile: string;
  keyFile: string;
  caFile: string;
  authClients?: 'no' | 'optional' | 'yes';
}): string[] {
  return [
    '--port', '0',
    '--tls-port', String(options.tlsPort),
    '--tls-cert-file', options.certFile,
    '--tls-key-file', options.keyFile,
    '--tls-ca-cert-file', options.caFile,
    '--tls-auth-clients', options.authClients ?? 'no',
  ];
}

/** A TLS-only redis-server of the test's own. */
export interface TlsRedisUnderTest {
  /** `127.0.0.1`. */
  readonly host: string;
  /** The TLS port (the plain port is off). */
  readonly port: number;
  /** `rediss://localhost:port`. */
  readonly url: string;
  /** An ioredis client over TLS (server verified with `caFile` as `localhost`, client certificate when given). */
  readonly admin: Redis;
  /** Stops the admin client and the server. Idempotent. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 10_000;

/** For a start that never became ready: the pid from `--pidfile`, SIGKILLed if it still is a redis-server. */
function killByPidFile(pidFile: string): void {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server')) process.kill(pid, 'SIGKILL');
  } catch {
    // no pid file yet, or already gone
  }
}

/**
 * Starts a TLS-only redis-server presenting `certFile`/`keyFile`, verifying client certificates against
 * `caFile` as `authClients` says (default `no`: no client certificate asked for). The admin client trusts
 * `caFile`, verifies the server as `localhost`, and presents `clientCert` when given.
 */
export async function startTlsRedis(options: {
  certFile: string;
  keyFile: string;
  caFile: string;
  authClients?: 'no' | 'optional' | 'yes';
  clientCert?: { certFile: string; keyFile: string };
  args?: string[];
}): Promise<TlsRedisUnderTest> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const tlsPort = await freePort();
    // A pid file lets us kill a server that never became ready: redis-memory-server's stop() would wait for it forever.
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-server-'));
    const pidFile = join(dir, 'redis.pid');
    const server = await RedisMemoryServer.create({
      instance: {
        args: ['--save', '', '--appendonly', 'no', '--dir', dir, '--pidfile', pidFile, ...tlsServerArgs({ ...options, tlsPort }), ...(options.args ?? [])],
      },
    });
    const starting = server.start();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        starting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`TLS redis-server on ${tlsPort} not ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      lastError = error;
      killByPidFile(pidFile);
      // A start that succeeds after all, after the timeout, is stopped too.
      starting.then(() => server.stop(), () => undefined).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      continue;
    } finally {
      clearTimeout(timer);
    }
    const tls: RedisOptions['tls'] = {
      ca: readFileSync(options.caFile),
      servername: 'localhost',
      ...(options.clientCert ? { cert: readFileSync(options.clientCert.certFile), key: readFileSync(options.clientCert.keyFile) } : {}),
    };
    const admin = new Redis({ host: '127.0.0.1', port: tlsPort, tls, lazyConnect: true, maxRetriesPerRequest: 1, disconnectTimeout: 100 });
    admin.on('error', () => undefined);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        admin.disconnect();
        await server.stop().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      })());
    try {
      await admin.connect();
    } catch (error) {
      await stop();
      throw new Error(`TLS redis-server on ${tlsPort}: admin connection failed: ${(error as Error).message}`);
    }
    return { host: '127.0.0.1', port: tlsPort, url: `rediss://localhost:${tlsPort}`, admin, stop };
  }
  throw new Error(`TLS redis-server did not start in ${START_ATTEMPTS} attempts: ${String((lastError as Error)?.message ?? lastError)}`);
}
