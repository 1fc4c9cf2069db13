// @drivers ioredis node-redis
/**
 * Security (issue 4), against real redis-server processes: a least-privilege ACL user, TLS (single node, mutual
 * TLS, cluster), and no credential in any error, rendering or log line.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';

import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  AuthenticationError,
  CacheKey,
  CacheValue,
  ConfigurationError,
  ConnectionError,
  ConnectionMode,
  ForeignDataError,
  RedisBackend,
  ScriptError,
} from '../../src/index.js';
import { startCluster, type ClusterUnderTest } from '../helpers/cluster.js';
import { freePort, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { createTestPki, startTlsRedis, type TestPki, type TlsRedisUnderTest } from '../helpers/tls.js';
import { rejection } from '../helpers/settle.js';
import { builder, DRIVER } from '../helpers/driver.js';

/**
 * The minimal ACL rule for a single node (README), found by experiment: every command is needed (see the test
 * "every command of the rule is needed"). `reset` first: no other command, key pattern or channel. The scripts
 * call HMGET, EXISTS, TYPE, PTTL, HEXISTS, DEL, HSET, HDEL, HLEN, HKEYS, PEXPIRE, PERSIST, and for getOrSet HGET
 * and TIME, and for tags GET and SET on the tag keys (the selector below) (ACLs apply inside scripts); the runner sends EVALSHA / EVALSHA_RO and, on NOSCRIPT, EVAL / EVAL_RO. AUTH needs no permission;
 * CLIENT SETINFO (Redis 7.2+) and ioredis' CLIENT SETNAME may be denied: both libraries ignore their errors.
 * `~_prefix=myapp&*` confines the user to the UrlEncoded keys of CacheKey prefix `myapp`.
 */
const SCRIPT_ACL_RULE =
  'ACL SETUSER cache reset on >PASSWORD ~_prefix=myapp&* +evalsha +evalsha_ro +eval +eval_ro +hmget +exists +type +pttl +hexists +del +hset +hdel +hlen +hkeys +pexpire +persist +hget +time';
/**
 * Tags need their keys (`~_tag=*`) and GET and SET on them only, granted by a selector (Redis 7) so that
 * the user cannot GET or SET its cache entries directly. The selector also lets the scripts run with tag keys.
 */
const TAG_COMMANDS = ['get', 'set'];
function tagSelector(without?: string): string {
  return `(~_tag=* +evalsha +evalsha_ro +eval +eval_ro ${TAG_COMMANDS.filter((command) => command !== without).map((command) => `+${command}`).join(' ')})`;
}
/**
 * What the driver's own handshake adds to the rule, the one part that depends on the client library: ioredis'
 * ready check sends INFO (denied, ioredis prints a warning on every connection and skips the check); node-redis
 * has no ready check and sends nothing that needs a permission.
 */
const HANDSHAKE_COMMANDS = DRIVER === 'ioredis' ? ['info'] : [];
const MINIMAL_ACL_RULE = [SCRIPT_ACL_RULE, ...HANDSHAKE_COMMANDS.map((command) => `+${command}`)].join(' ');
/**
 * What a cluster needs on top, on every node (ACLs are per node): CLUSTER SLOTS (both libraries' slot map),
 * CLUSTER INFO (ioredis' ready check; node-redis has none) and, with `readFromReplicas()` only, READONLY.
 */
const CLUSTER_ACL_ADDITIONS = DRIVER === 'ioredis' ? '+cluster|slots +cluster|info +readonly' : '+cluster|slots +readonly';

const RULE_COMMANDS = [...MINIMAL_ACL_RULE.split(' ').filter((part) => part.startsWith('+')).map((part) => part.slice(1)), ...TAG_COMMANDS];
/** Every password of this file contains SECRET_MARK, so a scan for it finds any of them. */
const SECRET_MARK = 'Pw-7f3a9c-SECRET';
const ADMIN_PASSWORD = `${SECRET_MARK}-admin`;
const ACL_PASSWORD = `${SECRET_MARK}-acl`;
const WRONG_PASSWORD = `${SECRET_MARK}-wrong`;
const PREFIX = 'myapp';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const test = suite('security');
let pki: TestPki;
let plain: RedisUnderTest; // requirepass ADMIN_PASSWORD; the ACL user `cache` lives here
let tlsServer: TlsRedisUnderTest; // TLS-only, server certificate for localhost and 127.0.0.1
let mutualTls: TlsRedisUnderTest; // TLS-only, --tls-auth-clients yes
let localhostOnly: TlsRedisUnderTest; // TLS-only, certificate names DNS:localhost only
let untrusted: TlsRedisUnderTest; // TLS-only, certificate from an unrelated CA
let cluster: ClusterUnderTest; // TLS-only, 3 primaries + 3 replicas
const stoppers: (() => Promise<void>)[] = [];

test.before(async () => {
  pki = await createTestPki();
  stoppers.push(async () => pki.cleanup());
  const tls = { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile };
  const started = await Promise.allSettled([
    startRedis({ args: ['--requirepass', ADMIN_PASSWORD], adminPassword: ADMIN_PASSWORD }),
    startTlsRedis(tls),
    startTlsRedis({ ...tls, authClients: 'yes', clientCert: pki.client }),
    startTlsRedis({ certFile: pki.localhostOnly.certFile, keyFile: pki.localhostOnly.keyFile, caFile: pki.ca.certFile }),
    startTlsRedis({ certFile: pki.untrusted.server.certFile, keyFile: pki.untrusted.server.keyFile, caFile: pki.untrusted.ca.certFile }),
    startCluster({ primaries: 3, replicasPerPrimary: 1, tls }),
  ]);
  for (const result of started) if (result.status === 'fulfilled') stoppers.push(() => result.value.stop());
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  const values = started.map((result) => (result as PromiseFulfilledResult<unknown>).value);
  [plain, tlsServer, mutualTls, localhostOnly, untrusted, cluster] = values as [
    RedisUnderTest, TlsRedisUnderTest, TlsRedisUnderTest, TlsRedisUnderTest, TlsRedisUnderTest, ClusterUnderTest,
  ];
});

test.after(async () => {
  await Promise.all(stoppers.reverse().map((stop) => stop().catch(() => undefined)));
});

// Whatever a test opened is closed after it, pass or fail.
const opened: { close(): Promise<unknown> }[] = [];

test.after.each(async () => {
  await Promise.all(opened.splice(0).map((item) => item.close().catch(() => undefined)));
});

function track<T extends RedisBackend | Redis>(item: T): T {
  opened.push(item instanceof Redis ? { close: async () => item.disconnect() } : item);
  return item;
}

const key = (name: string, prefix = PREFIX): CacheKey => new CacheKey(prefix, 1, [{ key: 'n', value: name }]);

/** Everything an application might print about an error. */
function renderings(error: unknown): string[] {
  const err = error as Error;
  return [err.message, String(err), inspect(err, { depth: Infinity, showHidden: true }), JSON.stringify(err), err.stack ?? ''];
}

function assertNoSecret(texts: string[], secrets: string[], what: string): void {
  for (const text of texts) {
    for (const secret of secrets) assert.not.ok(text.includes(secret), `${what} shows a credential: ${text}`);
  }
}

/** `ACL SETUSER` arguments (after the user name is the first one) for `rule`, optionally without one command. */
function aclArgs(rule: string, password: string, without?: string): string[] {
  const parts = rule.split(' ').slice(2); // drop "ACL SETUSER"
  if (without !== undefined) assert.ok(parts.includes(`+${without}`) || TAG_COMMANDS.includes(without), `the rule has +${without}`);
  const root = parts.filter((part) => part !== `+${without}`).map((part) => (part === '>PASSWORD' ? `>${password}` : part));
  return [...root, tagSelector(without)];
}

async function setAclUser(admins: Redis[], rule: string, without?: string): Promise<void> {
  await Promise.all(admins.map((admin) => admin.call('ACL', 'SETUSER', ...aclArgs(rule, ACL_PASSWORD, without))));
}

/** A backend on the plain server as the ACL user `cache`. */
function aclBackend(): RedisBackend {
  return track(
    builder()
      .connection(ConnectionMode.single(`redis://127.0.0.1:${plain.port}`))
      .username('cache')
      .password(ACL_PASSWORD)
      .connectionTimeout(2_000)
      .build(),
  );
}

/** Runs `body` with console.warn captured (ioredis warns through it), and returns what was warned. */
async function capturingWarnings(body: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  try {
    await body();
  } finally {
    console.warn = original;
  }
  return warnings;
}

async function commandStats(admin: Redis): Promise<Record<string, { calls: number; rejected: number; failed: number }>> {
  const stats: Record<string, { calls: number; rejected: number; failed: number }> = {};
  for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_(\S+?):calls=(\d+),.*rejected_calls=(\d+),failed_calls=(\d+)/gm)) {
    stats[m[1]!] = { calls: Number(m[2]), rejected: Number(m[3]), failed: Number(m[4]) };
  }
  return stats;
}

// ---------------------------------------------------------------------------------------------------------
// ACL

const HOUR = 3_600_000;

/**
 * Every path of the three scripts, each checked through the backend and behind its back. A step "fails" when it
 * throws or its outcome is wrong.
 */
const SCENARIO: { name: string; run(backend: RedisBackend, admin: Redis): Promise<void> }[] = [
  {
    name: 'set a new entry with expire and stale',
    async run(backend, admin) {
      await backend.set(key('a'), new CacheValue('v1', new Date(Date.now() + HOUR), new Date(Date.now() + HOUR / 2)));
      assert.ok((await admin.pttl(String(key('a')))) > 0);
    },
  },
  {
    name: 'get an entry',
    async run(backend) {
      const hit = await backend.get<string>(key('a'));
      assert.is(hit?.data, 'v1');
      assert.ok(hit?.expire instanceof Date && hit.stale instanceof Date);
    },
  },
  {
    name: 'get a missing entry',
    async run(backend) {
      assert.is(await backend.get(key('missing')), null);
    },
  },
  {
    name: 'overwrite without expire or stale',
    async run(backend, admin) {
      await backend.set(key('a'), new CacheValue('v2'));
      assert.is(await admin.pttl(String(key('a'))), -1);
      assert.equal(await admin.hkeys(String(key('a'))), ['d']);
    },
  },
  {
    name: 'overwrite an entry carrying an extra field',
    async run(backend, admin) {
      await admin.hset(String(key('a')), 'extra', 'x');
      await backend.set(key('a'), new CacheValue('v3', new Date(Date.now() + HOUR)));
      assert.equal(await admin.hkeys(String(key('a'))), ['d']);
    },
  },
  {
    name: 'getOrSet a missing entry',
    async run(backend, admin) {
      // getOrSet rides out a denied command by returning the factory's value unstored: what is stored shows it.
      assert.is(await backend.getOrSet(key('g'), async () => 'computed', { ttl: HOUR }), 'computed');
      assert.equal(Object.keys(await admin.hgetall(String(key('g')))), ['d']);
    },
  },
  {
    name: 'a tagged entry, invalidated',
    async run(backend) {
      await backend.set(key('t'), new CacheValue('tagged'), { tags: ['t1'] });
      assert.is((await backend.get<string>(key('t')))?.data, 'tagged');
      await backend.invalidateTags(['t1']);
      assert.is(await backend.get(key('t')), null);
    },
  },
  {
    name: 'get foreign data',
    async run(backend, admin) {
      await admin.rpush(String(key('list')), 'x');
      assert.instance(await rejection(backend.get(key('list'))), ForeignDataError);
    },
  },
  {
    name: 'delete an entry',
    async run(backend) {
      assert.equal(await backend.delete(key('a')), { kind: 'deleted', count: 1 });
    },
  },
  {
    name: 'an expire in the past removes the entry',
    async run(backend, admin) {
      await backend.set(key('b'), new CacheValue(1));
      await backend.set(key('b'), new CacheValue(2, new Date(Date.now() - 1_000)));
      assert.is(await admin.exists(String(key('b'))), 0);
    },
  },
  {
    name: 'merged sets and gets of one tick',
    async run(backend, admin) {
      // Calls of one tick are merged: sets with one expire into write_many_uniform, sets with one each into
      // write_many, gets into read_many. Their commands must be the rule's too.
      const expire = new Date(Date.now() + HOUR);
      const keys = Array.from({ length: 40 }, (_, i) => key(`merged-${i}`));
      await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(i, expire))));
      assert.ok((await admin.pttl(String(keys[39]))) > HOUR - 60_000, 'the TTL is set');
      await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(i + 1, new Date(expire.getTime() + i * 1_000)))));
      const hits = await Promise.all(keys.map((k) => backend.get<number>(k)));
      assert.equal(hits.map((hit) => hit?.data), keys.map((_, i) => i + 1));
    },
  },
  {
    name: 'get after SCRIPT FLUSH',
    async run(backend, admin) {
      await backend.set(key('c'), new CacheValue('c'));
      await admin.script('FLUSH');
      assert.is((await backend.get<string>(key('c')))?.data, 'c');
    },
  },
  {
    name: 'set after SCRIPT FLUSH',
    async run(backend, admin) {
      await admin.script('FLUSH');
      await backend.set(key('d'), new CacheValue('d'));
      assert.is(await admin.exists(String(key('d'))), 1);
    },
  },
];

/** The scenario step that needs each command of the rule (INFO: ioredis' ready check, see below). */
const NEEDED_BY: Record<string, string> = {
  evalsha: 'overwrite without expire or stale',
  evalsha_ro: 'get a missing entry',
  eval: 'set after SCRIPT FLUSH',
  eval_ro: 'get after SCRIPT FLUSH',
  hmget: 'get an entry',
  exists: 'get a missing entry',
  type: 'get foreign data',
  pttl: 'get an entry',
  hexists: 'delete an entry',
  del: 'delete an entry',
  hset: 'set a new entry with expire and stale',
  hdel: 'overwrite without expire or stale',
  hlen: 'overwrite without expire or stale',
  hkeys: 'overwrite an entry carrying an extra field',
  pexpire: 'set a new entry with expire and stale',
  persist: 'overwrite without expire or stale',
  hget: 'getOrSet a missing entry',
  time: 'getOrSet a missing entry',
  get: 'a tagged entry, invalidated',
  set: 'a tagged entry, invalidated',
};

/** Runs the whole scenario as the ACL user on a fresh connection; returns the failed steps and ioredis' warnings. */
async function runScenario(): Promise<{ failed: Map<string, string>; warnings: string[] }> {
  await plain.admin.flushall();
  const failed = new Map<string, string>();
  const warnings = await capturingWarnings(async () => {
    const backend = aclBackend();
    for (const step of SCENARIO) {
      try {
        await step.run(backend, plain.admin);
      } catch (error) {
        failed.set(step.name, `${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    await backend.close();
  });
  return { failed, warnings };
}

test('ACL: the minimal rule works end to end under its key pattern, EVAL fallback included, and nothing is ever denied', async () => {
  await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  await plain.admin.call('ACL', 'LOG', 'RESET');
  await plain.admin.config('RESETSTAT');
  const { failed, warnings } = await runScenario();
  assert.equal([...failed], [], 'every step succeeds');
  assert.equal(warnings, [], 'the client library printed nothing');
  // The scripts ran from the cache and, after SCRIPT FLUSH, through EVAL / EVAL_RO: both permitted.
  const stats = await commandStats(plain.admin);
  for (const command of ['evalsha', 'evalsha_ro', 'eval', 'eval_ro', 'auth', ...HANDSHAKE_COMMANDS]) {
    assert.ok((stats[command]?.calls ?? 0) > 0, `${command} was called: ${JSON.stringify(stats)}`);
  }
  // node-redis' rule lacks +info because it never sends INFO (the scenario above succeeds without it).
  if (!HANDSHAKE_COMMANDS.includes('info')) assert.is(stats.info, undefined, `INFO was not called: ${JSON.stringify(stats)}`);
  for (const [command, stat] of Object.entries(stats)) assert.is(stat.rejected, 0, `${command} was never rejected`);
  // Nothing the user did was refused (CLIENT SETINFO is unknown to Redis 7.0, and ignored by ioredis on 7.2+).
  const log = (await plain.admin.call('ACL', 'LOG')) as unknown[][];
  const denials = log.map((entry) => `${entry[3]}:${entry[7]}`).filter((entry) => entry !== 'command:client|setinfo');
  assert.equal(denials, []);
});

test('ACL: every command of the rule is needed (one less and some operation fails)', async () => {
  assert.equal(Object.keys(NEEDED_BY).sort(), RULE_COMMANDS.filter((c) => !HANDSHAKE_COMMANDS.includes(c)).sort(), 'every command has its step');
  try {
    for (const command of RULE_COMMANDS) {
      await setAclUser([plain.admin], MINIMAL_ACL_RULE, command);
      const { failed, warnings } = await runScenario();
      if (command === 'info') {
        // The backend works without INFO, but ioredis then warns on every connection and skips its ready check.
        assert.equal([...failed], [], 'without +info: every step succeeds');
        assert.is(warnings.length, 1, 'without +info: one warning per connection');
        assert.match(warnings[0]!, /Skipping the ready check because INFO command fails: "NOPERM/);
      } else {
        assert.ok(failed.has(NEEDED_BY[command]!), `without +${command}, "${NEEDED_BY[command]}" fails; failed: ${JSON.stringify([...failed])}`);
      }
    }
  } finally {
    await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  }
});

test('ACL: a key outside the pattern is refused with a ScriptError that says NOPERM and names the key', async () => {
  await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  const backend = aclBackend();
  await backend.set(key('mine'), new CacheValue('ok'));
  // `myapp2` starts with `myapp`: the `&` in the pattern keeps it out.
  for (const outside of [key('x', 'other'), key('x', 'myapp2'), new CacheKey('MYAPP', 1, [])]) {
    for (const operation of [() => backend.get(outside), () => backend.set(outside, new CacheValue(1)), () => backend.delete(outside)]) {
      const error = await rejection(operation());
      assert.instance(error, ScriptError);
      assert.match(error.message, /NOPERM/);
      assert.ok(error.message.includes(String(outside)), `names the key: ${error.message}`);
      assert.match(error.message, /lacks a permission/);
    }
    assert.is(await plain.admin.exists(String(outside)), 0, 'nothing written');
  }
  assert.is((await backend.get<string>(key('mine')))?.data, 'ok');
});

test('ACL: the user can run nothing else, not even through a script', async () => {
  await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  await plain.admin.set('victim', 'kept');
  const client = track(new Redis({ host: '127.0.0.1', port: plain.port, username: 'cache', password: ACL_PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0 }));
  client.on('error', () => undefined);
  await client.connect();
  const refused = async (what: string, call: () => Promise<unknown>, pattern = /NOPERM/): Promise<void> => {
    const error = await rejection(call());
    assert.match(error.message, pattern, `${what}: ${error.message}`);
  };
  await refused('FLUSHALL', () => client.flushall());
  await refused('KEYS', () => client.keys('*'));
  await refused('SCAN', () => client.scan(0));
  await refused('CONFIG GET', () => client.config('GET', 'requirepass'));
  await refused('SCRIPT FLUSH', () => client.script('FLUSH'));
  await refused('ACL WHOAMI', () => client.call('ACL', 'WHOAMI'));
  await refused('GET on its own pattern', () => client.get(`_prefix=${PREFIX}&_version=1`));
  await refused('EVAL on a key outside the pattern', () => client.eval("return redis.call('HLEN', KEYS[1])", 1, 'victim'));
  // Scripts are checked command by command and key by key (the user may EVAL, so this is the real boundary).
  await refused('a script calling FLUSHALL', () => client.eval("return redis.call('FLUSHALL')", 0), /can't run this command|NOPERM/);
  await refused('a script deleting a key outside the pattern', () => client.eval("return redis.call('DEL', 'victim')", 0), /can't access at least one of the keys|NOPERM/);
  assert.is(await plain.admin.get('victim'), 'kept');
  await plain.admin.del('victim');
});

test('ACL: a wrong password or an unknown user is an AuthenticationError that shows no credential', async () => {
  await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  const url = `redis://127.0.0.1:${plain.port}`;
  const attempts = {
    'wrong password (builder)': builder().connection(ConnectionMode.single(url)).username('cache').password(WRONG_PASSWORD),
    'wrong password (URL)': builder().connection(ConnectionMode.single(`redis://cache:${WRONG_PASSWORD}@127.0.0.1:${plain.port}`)),
    'unknown user': builder().connection(ConnectionMode.single(url)).username('nobody').password(ACL_PASSWORD),
    'wrong password of the default user': builder().connection(ConnectionMode.single(`redis://:${WRONG_PASSWORD}@127.0.0.1:${plain.port}`)),
  };
  for (const [what, builder] of Object.entries(attempts)) {
    const backend = track(builder.connectionTimeout(2_000).build());
    const error = await rejection(backend.get(key('auth')));
    assert.instance(error, AuthenticationError, what);
    assert.ok(error instanceof ConnectionError, `${what}: an AuthenticationError is a ConnectionError`);
    assert.is((error as AuthenticationError).code, 'AUTHENTICATION');
    assert.match(error.message, /refused the credentials: WRONGPASS/, what);
    assertNoSecret(renderings(error), [WRONG_PASSWORD, ACL_PASSWORD, ADMIN_PASSWORD, SECRET_MARK], what);
  }
});

// Known bugs (see the report): the tests marked [bug] fail until the backend is fixed.

test('ACL [bug]: a permission missing inside a script is a ScriptError, never "foreign data"', async () => {
  // read.lua, write.lua and remove.lua call HMGET / HLEN / HEXISTS through redis.pcall to tell WRONGTYPE apart.
  try {
    for (const [command, operation] of [
      ['hmget', (backend: RedisBackend) => backend.get(key('e'))],
      ['hlen', (backend: RedisBackend) => backend.set(key('e'), new CacheValue(1))],
      ['hexists', (backend: RedisBackend) => backend.delete(key('e'))],
    ] as const) {
      await setAclUser([plain.admin], MINIMAL_ACL_RULE, command);
      const error = await rejection(operation(aclBackend()));
      assert.not.instance(error, ForeignDataError, `without +${command}: ${error.message}`);
      assert.instance(error, ScriptError, `without +${command}`);
    }
  } finally {
    await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  }
});

test('ACL [bug]: a permission missing inside a script gets the same hint as NOPERM', async () => {
  // Redis 7.0 words an ACL denial inside a script "ERR The user executing the script can't run this command ...".
  try {
    await setAclUser([plain.admin], MINIMAL_ACL_RULE, 'pexpire');
    const error = await rejection(aclBackend().set(key('f'), new CacheValue(1, new Date(Date.now() + HOUR))));
    assert.instance(error, ScriptError);
    assert.match(error.message, /can't run this command/);
    assert.match(error.message, /lacks a permission/);
  } finally {
    await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  }
});

test('URL: a password with a raw "%" is a ConfigurationError, without the password', () => {
  const error = (() => {
    try {
      ConnectionMode.single(`redis://cache:100%${SECRET_MARK}@127.0.0.1:6380`);
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a throw');
  })();
  assertNoSecret(renderings(error), [SECRET_MARK], 'the URL error');
  assert.instance(error, ConfigurationError, `${error.name}: ${error.message}`);
});

// ---------------------------------------------------------------------------------------------------------
// TLS, single node

const CERT_REFUSED = /self-signed certificate|unable to (get local issuer certificate|verify)/;

test('TLS: .tls({ ca }) works against a TLS-only server, by IP address and by rediss://localhost', async () => {
  assert.equal(await tlsServer.admin.config('GET', 'port'), ['port', '0'], 'the plain port is off');
  assert.equal(await tlsServer.admin.config('GET', 'tls-port'), ['tls-port', String(tlsServer.port)]);
  for (const url of [`redis://127.0.0.1:${tlsServer.port}`, tlsServer.url]) {
    const backend = track(builder().connection(ConnectionMode.single(url)).tls({ ca: pki.ca.cert }).build());
    await backend.set(key(url), new CacheValue({ over: 'tls' }));
    assert.equal((await backend.get(key(url)))?.data, { over: 'tls' });
    assert.is(await tlsServer.admin.exists(String(key(url))), 1);
  }
  // A plain connection to the TLS port gets nowhere.
  const cleartext = track(builder().connection(ConnectionMode.single(`redis://127.0.0.1:${tlsServer.port}`)).connectionTimeout(2_000).build());
  assert.instance(await rejection(cleartext.get(key('x'))), ConnectionError);
});

test("TLS: rediss:// without .tls() verifies against Node's CAs: our test CA is refused, saying why, within the timeout", async () => {
  const backend = track(builder().connection(ConnectionMode.single(tlsServer.url)).connectionTimeout(2_000).build());
  const started = Date.now();
  const error = await rejection(backend.get(key('x')));
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  assert.instance(error, ConnectionError);
  assert.match(error.message, new RegExp(`could not connect to rediss://localhost:${tlsServer.port}: `));
  assert.match(error.message, CERT_REFUSED);
});

/** Runs a TypeScript module (written to the PKI's temporary directory) in a child Node process with tsx. */
async function runChild(name: string, source: string, env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(pki.dir, `${name}.mts`);
  writeFileSync(file, source);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...env };
  // ioredis' own debug log (DEBUG=ioredis:*) would print every command, AUTH and its password included.
  delete childEnv.DEBUG;
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const SRC = pathToFileURL(join(REPO, 'src', 'index.ts')).href;

test('TLS: with NODE_EXTRA_CA_CERTS, a plain rediss:// URL works (Node\'s trusted CAs are used)', async () => {
  const source = `
import { CacheKey, CacheValue, ConnectionMode, RedisBackend } from ${JSON.stringify(SRC)};
const backend = RedisBackend.builder().driver(${JSON.stringify(DRIVER)}).connection(ConnectionMode.single(process.env.TARGET_URL!)).connectionTimeout(3000).build();
const key = new CacheKey('extra-ca', 1, []);
try {
  await backend.set(key, new CacheValue('trusted through NODE_EXTRA_CA_CERTS'));
  console.log(JSON.stringify({ ok: true, data: (await backend.get(key))?.data }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: (error as Error).name, message: (error as Error).message }));
}
await backend.close();
process.exit(0);
`;
  const [withCa, without] = await Promise.all([
    runChild('extra-ca', source, { TARGET_URL: tlsServer.url, NODE_EXTRA_CA_CERTS: pki.ca.certFile }),
    runChild('extra-ca', source, { TARGET_URL: tlsServer.url, NODE_EXTRA_CA_CERTS: undefined }),
  ]);
  assert.is(withCa.code, 0, withCa.stderr);
  assert.equal(JSON.parse(withCa.stdout), { ok: true, data: 'trusted through NODE_EXTRA_CA_CERTS' });
  const refused = JSON.parse(without.stdout) as { ok: boolean; name: string; message: string };
  assert.is(refused.ok, false, 'the same child without NODE_EXTRA_CA_CERTS is refused');
  assert.is(refused.name, 'ConnectionError');
  assert.match(refused.message, CERT_REFUSED);
});

test('TLS: a certificate from an untrusted CA is refused even with .tls({ ca }); rejectUnauthorized: false passes through', async () => {
  const refused = track(builder().connection(ConnectionMode.single(untrusted.url)).tls({ ca: pki.ca.cert }).connectionTimeout(2_000).build());
  const error = await rejection(refused.get(key('x')));
  assert.instance(error, ConnectionError);
  assert.match(error.message, CERT_REFUSED);
  // rejectUnauthorized: false reaches Node (no verification at all: for tests only).
  const unverified = track(builder().connection(ConnectionMode.single(untrusted.url)).tls({ rejectUnauthorized: false }).build());
  await unverified.set(key('unverified'), new CacheValue(1));
  assert.is((await unverified.get<number>(key('unverified')))?.data, 1);
  // And its own CA, given as ca, is trusted.
  const ownCa = track(builder().connection(ConnectionMode.single(untrusted.url)).tls({ ca: pki.untrusted.ca.cert }).build());
  assert.is((await ownCa.get<number>(key('unverified')))?.data, 1);
});

test('TLS: servername passes through: a certificate for localhost only is refused at 127.0.0.1 unless servername is localhost', async () => {
  const byIp = `redis://127.0.0.1:${localhostOnly.port}`;
  const mismatch = track(builder().connection(ConnectionMode.single(byIp)).tls({ ca: pki.ca.cert }).connectionTimeout(2_000).build());
  const error = await rejection(mismatch.get(key('x')));
  assert.instance(error, ConnectionError);
  assert.match(error.message, /Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1/);
  const named = track(builder().connection(ConnectionMode.single(byIp)).tls({ ca: pki.ca.cert, servername: 'localhost' }).build());
  await named.set(key('named'), new CacheValue('sni'));
  assert.is((await named.get<string>(key('named')))?.data, 'sni');
  const byName = track(builder().connection(ConnectionMode.single(localhostOnly.url)).tls({ ca: pki.ca.cert }).build());
  assert.is((await byName.get<string>(key('named')))?.data, 'sni');
});

test('TLS: mutual TLS (--tls-auth-clients yes): no client certificate or one from another CA is refused; ours works', async () => {
  const noCert = track(builder().connection(ConnectionMode.single(mutualTls.url)).tls({ ca: pki.ca.cert }).connectionTimeout(2_000).build());
  const error = await rejection(noCert.get(key('x')));
  assert.instance(error, ConnectionError);
  assert.match(error.message, /certificate required|ECONNRESET|socket hang up/);
  const foreignCert = track(
    builder()
      .connection(ConnectionMode.single(mutualTls.url))
      .tls({ ca: pki.ca.cert, cert: pki.untrusted.server.cert, key: pki.untrusted.server.key })
      .connectionTimeout(2_000)
      .build(),
  );
  assert.instance(await rejection(foreignCert.get(key('x'))), ConnectionError);
  const withCert = track(
    builder().connection(ConnectionMode.single(mutualTls.url)).tls({ ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key }).build(),
  );
  await withCert.set(key('mutual'), new CacheValue('mtls'));
  assert.is((await withCert.get<string>(key('mutual')))?.data, 'mtls');
});

// ---------------------------------------------------------------------------------------------------------
// TLS, cluster

test('TLS cluster: ConnectionMode.cluster(urls) + .tls({ ca }) writes and reads keys on every primary', async () => {
  const backend = track(builder().connection(ConnectionMode.cluster(cluster.seedUrls)).tls({ ca: pki.ca.cert }).build());
  const keys = Array.from({ length: 300 }, (_, i) => key(`cluster-${i}`, 'tls-cluster'));
  await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(i))));
  const values = await Promise.all(keys.map((k) => backend.get<number>(k)));
  values.forEach((value, i) => assert.is(value?.data, i));
  const primaries = await cluster.primaries();
  assert.is(primaries.length, 3);
  const sizes = await Promise.all(primaries.map((node) => node.admin.dbsize()));
  assert.ok(sizes.every((size) => size > 50), `keys per primary: ${sizes.join(', ')}`);
  assert.is(sizes.reduce((a, b) => a + b, 0), 300);
});

test('TLS cluster + ACL: the minimal rule plus its cluster additions works, reads on replicas; each addition is needed', async () => {
  const admins = cluster.nodes.map((node) => node.admin);
  const rule = `${MINIMAL_ACL_RULE} ${CLUSTER_ACL_ADDITIONS}`;
  const keys = Array.from({ length: 120 }, (_, i) => key(`acl-${i}`));
  const attempt = async (): Promise<string | null> => {
    const backend = track(
      builder()
        .connection(ConnectionMode.cluster(cluster.seedUrls).readFromReplicas())
        .tls({ ca: pki.ca.cert })
        .username('cache')
        .password(ACL_PASSWORD)
        .connectionTimeout(1_000)
        .build(),
    );
    try {
      await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(i))));
      await Promise.all((await cluster.primaries()).map((node) => node.admin.wait(1, 2_000)));
      await Promise.all(admins.map((admin) => admin.config('RESETSTAT')));
      const values = await Promise.all(keys.map((k) => backend.get<number>(k)));
      values.forEach((value, i) => assert.is(value?.data, i));
      // node-redis sends to the primary a read its replica could not run (a replica connection refused READONLY).
      for (const replica of await cluster.replicas()) {
        const reads = (await commandStats(replica.admin)).evalsha_ro?.calls ?? 0;
        if (reads === 0) return `replica ${replica.port} served no reads`;
      }
      return null;
    } catch (error) {
      return (error as Error).message;
    } finally {
      await backend.close();
    }
  };
  try {
    await setAclUser(admins, rule);
    assert.is(await attempt(), null, 'every read was served by a replica');
    const needed: ReadonlyArray<readonly [string, RegExp]> =
      DRIVER === 'ioredis'
        ? [
            ['cluster|slots', /NOPERM.*cluster\|slots/],
            ['cluster|info', /no connection within 1000 ms/],
            ['readonly', /MOVED/],
          ]
        : [
            ['cluster|slots', /NOPERM.*cluster\|slots/],
            ['readonly', /served no reads/],
          ];
    assert.equal(needed.map(([command]) => `+${command}`).join(' '), CLUSTER_ACL_ADDITIONS, 'each addition is tried');
    for (const [command, why] of needed) {
      await setAclUser(admins, rule, command);
      const failure = await attempt();
      assert.ok(failure !== null, `without +${command} it fails`);
      assert.match(failure!, why);
    }
  } finally {
    await Promise.all(admins.map((admin) => admin.call('ACL', 'DELUSER', 'cache').catch(() => undefined)));
  }
});

test('TLS cluster [bug]: certificates Node does not trust are refused with a ConnectionError that says why', async () => {
  // ioredis' cluster client asks CLUSTER SLOTS on a throw-away connection whose errors it drops: all it reports is
  // "Failed to refresh slots cache. (Connection is closed.)", for a TLS refusal as for a refused TCP connection.
  const backend = track(builder().connection(ConnectionMode.cluster(cluster.seedUrls)).connectionTimeout(2_000).build());
  const error = await rejection(backend.get(key('x')));
  assert.instance(error, ConnectionError);
  assert.match(error.message, CERT_REFUSED);
});

// ---------------------------------------------------------------------------------------------------------
// Credentials never shown

/** Every failure a credential can be part of; each case prints all an application could log about it. */
function credentialScanSource(targets: Record<string, unknown>): string {
  return `
import { inspect } from 'node:util';
import { CacheKey, CacheValue, ConnectionMode, RedisBackend } from ${JSON.stringify(SRC)};

const t = ${JSON.stringify(targets)};
const SECRET = ${JSON.stringify(SECRET_MARK)};
const full = (value: unknown) => inspect(value, { depth: Infinity, showHidden: true });
const key = new CacheKey('scan', 1, [{ key: 'k', value: 'v' }]);
const inside = new CacheKey('myapp', 1, [{ key: 'k', value: 'v' }]);
type Case = [name: string, make: () => { mode: ConnectionMode; builder: ReturnType<typeof RedisBackend.builder> }, run?: (b: RedisBackend) => Promise<unknown>];
const single = (url: string) => {
  const mode = ConnectionMode.single(url);
  return { mode, builder: RedisBackend.builder().driver(${JSON.stringify(DRIVER)}).connection(mode).connectionTimeout(3000) };
};
const cluster = (urls: string[]) => {
  const mode = ConnectionMode.cluster(urls);
  return { mode, builder: RedisBackend.builder().driver(${JSON.stringify(DRIVER)}).connection(mode).connectionTimeout(3000) };
};
const cases: Case[] = [
  ['wrong password in the URL', () => single('redis://cache:' + SECRET + '-url@127.0.0.1:' + t.aclPort)],
  ['wrong password via .password()', () => { const m = single('redis://127.0.0.1:' + t.aclPort); m.builder.username('cache').password(SECRET + '-builder'); return m; }],
  ['.password() overriding a wrong one in the URL, still wrong', () => { const m = single('redis://cache:' + SECRET + '-url2@127.0.0.1:' + t.aclPort); m.builder.password(SECRET + '-builder2'); return m; }],
  ['unknown user', () => single('redis://nobody:' + SECRET + '-unknown@127.0.0.1:' + t.aclPort)],
  ['wrong password of the default user', () => single('redis://:' + SECRET + '-default@127.0.0.1:' + t.aclPort)],
  ['URL with user:password to an unreachable port', () => single('redis://cache:' + SECRET + '-unreachable@127.0.0.1:' + t.unreachablePort)],
  ['malformed URL (port) with a password', () => single('redis://cache:' + SECRET + '-port@127.0.0.1:notaport')],
  ['malformed URL (scheme) with a password', () => single('http://cache:' + SECRET + '-scheme@127.0.0.1:1')],
  ['malformed URL (database) with a password', () => single('redis://cache:' + SECRET + '-db@127.0.0.1:1/zero')],
  ['malformed URL (raw %) with a password', () => single('redis://cache:100%' + SECRET + '-percent@127.0.0.1:1')],
  ['password with a raw "/" after digits (read as port and path)', () => single('redis://cache:5678/' + SECRET + '-slash@127.0.0.1:1')],
  ['password with a raw "#" after digits (read as port and fragment)', () => single('redis://cache:5678#' + SECRET + '-hash@127.0.0.1:1')],
  ['password with a raw "?" after digits (read as port and query)', () => single('redis://cache:5678?' + SECRET + '-query@127.0.0.1:1')],
  ['untrusted server certificate, password in the URL', () => { const m = single('rediss://cache:' + SECRET + '-tls@localhost:' + t.untrustedPort); m.builder.tls({ ca: t.ca }); return m; }],
  ['rediss:// to a CA Node does not trust, password via .password()', () => { const m = single('rediss://localhost:' + t.tlsPort); m.builder.password(SECRET + '-tls-builder'); return m; }],
  ['right password, key outside the ACL pattern', () => single('redis://cache:' + t.aclPassword + '@127.0.0.1:' + t.aclPort)],
  ['right password, foreign data', () => single('redis://cache:' + t.aclPassword + '@127.0.0.1:' + t.aclPort), (b) => b.get(new CacheKey('myapp', 1, [{ key: 'k', value: 'foreign' }]))],
  ['closed backend with a password', () => single('redis://cache:' + t.aclPassword + '@127.0.0.1:' + t.aclPort), async (b) => { await b.close(); return b.get(inside); }],
  ['password to a server that needs none (TLS)', () => { const m = single('rediss://:' + SECRET + '-unneeded@localhost:' + t.tlsPort); m.builder.tls({ ca: t.ca }); return m; }, (b) => b.set(inside, new CacheValue(1))],
  ['cluster: wrong password', () => { const m = cluster(t.clusterSeeds.map((u: string) => u.replace('rediss://', 'rediss://cache:' + SECRET + '-cluster@'))); m.builder.tls({ ca: t.ca }); return m; }],
  ['cluster: unreachable seeds with user:password', () => cluster(['redis://cache:' + SECRET + '-cluster-down@127.0.0.1:' + t.unreachablePort])],
  ['cluster: certificates Node does not trust, password via .password()', () => { const m = cluster(t.clusterSeeds); m.builder.password(SECRET + '-cluster-tls'); return m; }],
];
for (const [name, make, run] of cases) {
  console.log('=== ' + name);
  let backend: RedisBackend | undefined;
  try {
    const { mode, builder } = make();
    console.log('mode:', String(mode), full(mode), JSON.stringify(mode));
    console.log('builder:', String(builder), full(builder), JSON.stringify(builder));
    backend = builder.build();
    console.log('backend:', String(backend), full(backend), JSON.stringify(backend));
    await (run ? run(backend) : backend.get(name.includes('outside') ? key : inside));
    console.log('RESULT ' + JSON.stringify({ name, outcome: 'ok' }));
  } catch (error) {
    const e = error as Error & { code?: string };
    console.log('message:', e.message);
    console.log('string:', String(e));
    console.log('inspect:', full(e));
    console.log('json:', JSON.stringify(e));
    console.log('RESULT ' + JSON.stringify({ name, outcome: e.constructor.name, code: e.code }));
  } finally {
    if (backend) {
      console.log('backend after:', full(backend));
      await backend.close();
    }
  }
}
process.exit(0);
`;
}

test('no credential in any error, rendering or log line of a run full of failures (child process, stdout and stderr)', async () => {
  await setAclUser([plain.admin], MINIMAL_ACL_RULE);
  await plain.admin.hset(String(new CacheKey(PREFIX, 1, [{ key: 'k', value: 'foreign' }])), 'no-d', 'x');
  const targets = {
    aclPort: plain.port,
    aclPassword: ACL_PASSWORD,
    tlsPort: tlsServer.port,
    untrustedPort: untrusted.port,
    unreachablePort: await freePort(),
    ca: pki.ca.cert,
    clusterSeeds: cluster.seedUrls,
  };
  const { code, stdout, stderr } = await runChild('credential-scan', credentialScanSource(targets), { NODE_EXTRA_CA_CERTS: undefined });
  assert.is(code, 0, stderr);
  const outcomes = Object.fromEntries(
    [...stdout.matchAll(/^RESULT (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { name: string; outcome: string }).map((r) => [r.name, r.outcome]),
  );
  assert.equal(outcomes, {
    'wrong password in the URL': 'AuthenticationError',
    'wrong password via .password()': 'AuthenticationError',
    '.password() overriding a wrong one in the URL, still wrong': 'AuthenticationError',
    'unknown user': 'AuthenticationError',
    'wrong password of the default user': 'AuthenticationError',
    'URL with user:password to an unreachable port': 'ConnectionError',
    'malformed URL (port) with a password': 'ConfigurationError',
    'malformed URL (scheme) with a password': 'ConfigurationError',
    'malformed URL (database) with a password': 'ConfigurationError',
    'malformed URL (raw %) with a password': 'ConfigurationError',
    'password with a raw "/" after digits (read as port and path)': 'ConfigurationError',
    'password with a raw "#" after digits (read as port and fragment)': 'ConfigurationError',
    'password with a raw "?" after digits (read as port and query)': 'ConfigurationError',
    'untrusted server certificate, password in the URL': 'ConnectionError',
    'rediss:// to a CA Node does not trust, password via .password()': 'ConnectionError',
    'right password, key outside the ACL pattern': 'ScriptError',
    'right password, foreign data': 'ForeignDataError',
    'closed backend with a password': 'ConnectionError',
    'password to a server that needs none (TLS)': 'ok',
    'cluster: wrong password': 'AuthenticationError',
    'cluster: unreachable seeds with user:password': 'ConnectionError',
    'cluster: certificates Node does not trust, password via .password()': 'ConnectionError',
  });
  assert.ok(stdout.includes('***'), 'redacted URLs were printed');
  assertNoSecret([stdout], [SECRET_MARK], 'stdout of the scan');
  assertNoSecret([stderr], [SECRET_MARK], 'stderr of the scan');
  // The backend logs nothing itself; ioredis writes one warning of its own (console.warn), for the password sent
  // to a server that needs none (node-redis is silent: its driver sends it as the default user's, accepted).
  // Anything else on stderr would be a new log line: look at it.
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines, DRIVER === 'ioredis' ? ["[WARN] This Redis server's `default` user does not require a password, but a password was supplied"] : []);
});

test.run();
