/**
 * The contenders, each with the configuration it is given (documented in `CONTENDERS`, which the report
 * prints). Each runs in a child process of its own (src/child.ts); this module is imported by the child
 * for the implementations and by the parent for the descriptions only (the clients are loaded lazily).
 *
 * The library under test is imported through src/lib.ts: the build that the harness makes of the working tree
 * when a run starts (bench/.snapshot/dist/, `tsc -p tsconfig.build.json`), plain JavaScript as it ships.
 */
import type { Endpoint, Topology } from './types.js';
import { importKeyvAdapter, importLib, importScripts } from './lib.js';
import { keyText, pad12, TTL_MS } from './workload.js';

/** `typed`: our hash layout written by the typed layer (MessagePack in field d), apart from the raw layer's, whose readers check the bytes. */
/** `keyv-hash`: Keyv's JSON string in field d of our hash, written by Keyv over our store. */
export type Layout = 'hash' | 'typed' | 'string' | 'keyv' | 'keyv-hash' | 'bento';

export interface ContenderInfo {
  id: string;
  label: string;
  /** How the data is stored, which decides which contenders share a preloaded dataset. */
  layout: Layout;
  group: 'ours' | 'seed' | 'floor' | 'peer' | 'analysis';
  client: 'ioredis' | 'node-redis';
  /** Whether the contender's operations are Lua scripts (for counting client commands). */
  scripts: boolean;
  cluster: boolean;
  config: string;
}

export const CONTENDERS: ContenderInfo[] = [
  {
    id: 'ours',
    label: 'redis-lua-cache',
    layout: 'hash',
    group: 'ours',
    client: 'ioredis',
    scripts: true,
    cluster: true,
    config:
      'RedisBackend.builder().connection(ConnectionMode.single(url) | .cluster(urls)).build(): every default (the calls of a tick batched by corking the socket, UrlEncoded keys); raw layer read(key) / write(key, CacheValue(buffer, expire in 1 h)) / remove(key), a new CacheKey per operation.',
  },
  {
    id: 'ours-unbatched',
    label: 'redis-lua-cache (batching off)',
    layout: 'hash',
    group: 'ours',
    client: 'ioredis',
    scripts: true,
    cluster: true,
    config: 'As `ours`, with .autoPipelining(false): every call is written to the socket by itself.',
  },
  {
    id: 'seed',
    label: "seed's design (hitbox-redis)",
    layout: 'hash',
    group: 'seed',
    client: 'ioredis',
    scripts: false,
    cluster: true,
    config:
      "hitbox-redis 0.2.1 re-created over ioredis with its default options: a write is pipeline().hset(key, 'd', data).pexpire(key, ttl).exec(), a read pipeline().hmgetBuffer(key, 'd', 's').pttl(key).exec() turned into { data, stale, expire }, a remove DEL. Same keys and hash layout as ours, so both read the same preloaded entries.",
  },
  {
    id: 'raw-evalsha',
    label: 'raw ioredis EVALSHA (our scripts)',
    layout: 'hash',
    group: 'floor',
    client: 'ioredis',
    scripts: true,
    cluster: true,
    config:
      "new Redis({ enableAutoPipelining: true }) (Cluster with scaleReads 'master' for the cluster), then evalsha_roBuffer(readScript.sha1, 1, key) (evalshaBuffer on a cluster, as the backend does), evalshaBuffer(writeScript.sha1, 1, key, data, '', ttl, ''), evalshaBuffer(removeScript.sha1, 1, key), with the SHA1s of ../generated/index.ts; no NOSCRIPT handling (the scripts are loaded up front). The floor for our overhead.",
  },
  {
    id: 'raw-evalsha-noap',
    label: 'raw ioredis EVALSHA (auto-pipelining off)',
    layout: 'hash',
    group: 'floor',
    client: 'ioredis',
    scripts: true,
    cluster: true,
    config: 'As raw-evalsha, with enableAutoPipelining false (the floor of ours-unbatched).',
  },
  {
    id: 'raw-getset',
    label: 'raw ioredis GET/SET PX',
    layout: 'string',
    group: 'floor',
    client: 'ioredis',
    scripts: false,
    cluster: true,
    config: "new Redis({ enableAutoPipelining: true }): getBuffer(key), set(key, data, 'PX', ttl), del(key); the value is stored as a plain string.",
  },
  {
    id: 'keyv',
    label: 'Keyv + @keyv/redis',
    layout: 'keyv',
    group: 'peer',
    client: 'node-redis',
    scripts: false,
    cluster: true,
    config:
      "createKeyv(url, { throwOnErrors: true }) from @keyv/redis (the documented entry point: no namespace, no key prefix; errors reject instead of reading as misses), or createKeyv(createCluster({ rootNodes }), ...); connected up front with store.getClient() (concurrent first calls on a cluster client fail otherwise); keyv.get(key), keyv.set(key, string, ttl), keyv.delete(key). Keyv's default serializer (JSON of { value, expires }); node-redis 5 with its defaults (it writes the commands of one tick together by itself).",
  },
  {
    id: 'keyv-ours',
    label: 'Keyv over redis-lua-cache',
    layout: 'keyv-hash',
    group: 'ours',
    client: 'ioredis',
    scripts: true,
    cluster: true,
    config:
      "new Keyv({ store: new KeyvRedisLua(backend, { prefix }), namespace: undefined, useKeyPrefix: false, throwOnErrors: true }) from redis-lua-cache/keyv, one per dataset prefix (so that its keys are the same `_prefix=<prefix>&_version=1&k=<12 digits>` as every contender's), over one RedisBackend.builder().connection(ConnectionMode.single(url) | .cluster(urls)).build() with every default (ioredis driver); keyv.get(key), keyv.set(key, string, ttl), keyv.delete(key), as the `keyv` contender. Keyv's default serializer; the store keeps the string in field d of our hash (one read / write / remove script per operation).",
  },
  {
    id: 'cache-manager',
    label: 'cache-manager 7 (Keyv + @keyv/redis)',
    layout: 'keyv',
    group: 'peer',
    client: 'node-redis',
    scripts: false,
    cluster: true,
    config: 'createCache({ stores: [keyv] }) with the Keyv above and every other option at its default; cache.get(key), cache.set(key, string, ttl), cache.del(key). Stores exactly what Keyv stores.',
  },
  {
    id: 'bentocache',
    label: 'bentocache (Redis layer only)',
    layout: 'bento',
    group: 'peer',
    client: 'ioredis',
    scripts: false,
    cluster: true,
    config:
      "new BentoCache({ default: 'redis', stores: { redis: bentostore().useL2Layer(redisDriver({ connection })) } }) with no memory (L1) layer and no bus, connection = new Redis({ enableAutoPipelining: true }) (the same client settings as ours; a Cluster for the cluster runs); bento.get({ key }), bento.set({ key, value: string, ttl }), bento.delete({ key }). Its default JSON serializer and options.",
  },
  {
    id: 'nr-getset',
    label: 'raw node-redis GET/SET PX',
    layout: 'string',
    group: 'analysis',
    client: 'node-redis',
    scripts: false,
    cluster: false,
    config: "createClient({ url }) of @redis/client 5 (the client @keyv/redis uses) with Buffer replies (withTypeMapping BLOB_STRING: Buffer): get(key), set(key, data, { PX: ttl }), del(key). For the client-cost analysis.",
  },
  {
    id: 'nr-evalsha',
    label: 'raw node-redis EVALSHA (our scripts)',
    layout: 'hash',
    group: 'analysis',
    client: 'node-redis',
    scripts: true,
    cluster: false,
    config: 'The same node-redis client running our scripts: evalShaRo(readScript.sha1, { keys: [key] }), evalSha(writeScript.sha1, { keys, arguments: [data, "", ttl, ""] }). For the client-cost analysis.',
  },
  {
    id: 'ours-node-redis',
    label: 'redis-lua-cache, node-redis driver (typed layer)',
    layout: 'typed',
    group: 'ours',
    client: 'node-redis',
    scripts: true,
    cluster: true,
    config:
      "RedisBackend.builder().driver('node-redis').connection(ConnectionMode.single(url) | .cluster(urls)).build(): every other option at its default (node-redis 5 writes the commands of a tick together by itself); the typed layer get(key) / set(key, CacheValue(buffer, expire in 1 h)) (MsgpackFormat of the Buffer), as Keyv's typed API is measured, a new CacheKey per operation.",
  },
  {
    id: 'ours-typed',
    label: 'redis-lua-cache typed layer',
    layout: 'typed',
    group: 'ours',
    client: 'ioredis',
    scripts: true,
    cluster: false,
    config: 'As ours, through the typed layer get/set (MsgpackFormat of the Buffer, then the compressor under test).',
  },
];

export function contenderInfo(id: string): ContenderInfo {
  const info = CONTENDERS.find((c) => c.id === id);
  if (!info) throw new Error(`unknown contender ${id}`);
  return info;
}

/** What a contender does for the harness, by key index; values are Buffers or strings as `valueType` says. */
export interface ContenderImpl {
  valueType: 'buffer' | 'string';
  get(prefix: string, index: number): Promise<unknown>;
  /** getOrSet on a fresh entry (the typed layers of ours only): the value, as `get` returns it. */
  getOrSet?(prefix: string, index: number): Promise<unknown>;
  set(prefix: string, index: number, value: Buffer | string): Promise<void>;
  /** True when an entry was removed. */
  remove(prefix: string, index: number): Promise<boolean>;
  /** A SCAN pattern that matches this contender's keys of `prefix` only. */
  scanPattern(prefix: string): string;
  close(): Promise<void>;
}

export interface ContenderContext {
  topology: Topology;
  nodes: Endpoint[];
  options: { compressor?: string };
}

const urlOf = (node: Endpoint): string => `redis://${node.host}:${node.port}`;

async function ioredisClient(ctx: ContenderContext, autoPipelining: boolean) {
  const { Redis, Cluster } = await import('ioredis');
  if (ctx.topology === 'cluster') {
    const cluster = new Cluster(
      ctx.nodes.map(({ host, port }) => ({ host, port })),
      { enableAutoPipelining: autoPipelining, scaleReads: 'master', lazyConnect: true },
    );
    await cluster.connect();
    return cluster;
  }
  const redis = new Redis({ host: ctx.nodes[0]!.host, port: ctx.nodes[0]!.port, enableAutoPipelining: autoPipelining, lazyConnect: true });
  await redis.connect();
  return redis;
}

export async function createContender(id: string, ctx: ContenderContext): Promise<ContenderImpl> {
  switch (id) {
    case 'ours':
    case 'ours-unbatched':
    case 'ours-typed':
    case 'ours-node-redis':
      return ours(ctx, {
        batching: id !== 'ours-unbatched',
        typed: id === 'ours-typed' || id === 'ours-node-redis',
        driver: id === 'ours-node-redis' ? 'node-redis' : 'ioredis',
      });
    case 'seed':
      return seed(ctx);
    case 'raw-evalsha':
    case 'raw-evalsha-noap':
      return rawEvalsha(ctx, id === 'raw-evalsha');
    case 'raw-getset':
      return rawGetSet(ctx);
    case 'keyv':
    case 'cache-manager':
      return keyvLike(ctx, id === 'cache-manager');
    case 'keyv-ours':
      return keyvOverOurs(ctx);
    case 'bentocache':
      return bento(ctx);
    case 'nr-getset':
    case 'nr-evalsha':
      return nodeRedis(ctx, id === 'nr-evalsha');
    default:
      throw new Error(`unknown contender ${id}`);
  }
}

async function ours(ctx: ContenderContext, how: { batching: boolean; typed: boolean; driver: 'ioredis' | 'node-redis' }): Promise<ContenderImpl> {
  const { batching, typed } = how;
  const lib = await importLib();
  const { RedisBackend, ConnectionMode, CacheKey, CacheValue } = lib;
  const mode = ctx.topology === 'cluster' ? ConnectionMode.cluster(ctx.nodes.map(urlOf)) : ConnectionMode.single(urlOf(ctx.nodes[0]!));
  let builder = RedisBackend.builder().driver(how.driver).connection(mode);
  // node-redis batches by itself and refuses .autoPipelining(false): only the ioredis contenders set it.
  if (how.driver === 'ioredis') builder = builder.autoPipelining(batching);
  if (typed) {
    const name = ctx.options.compressor ?? 'none';
    const compressor =
      name === 'gzip' ? new lib.GzipCompressor() : name === 'brotli' ? new lib.BrotliCompressor() : name === 'zstd' ? new lib.ZstdCompressor() : new lib.PassthroughCompressor();
    builder = builder.compressor(compressor);
  }
  const backend = builder.build();
  const key = (prefix: string, index: number) => new CacheKey(prefix, 1, [{ key: 'k', value: pad12(index) }]);
  const impl = rawLayer(lib, backend, () => backend.close());
  if (typed) {
    impl.get = async (prefix, index) => {
      const hit = await backend.get<Buffer>(key(prefix, index));
      return hit === null ? null : hit.data;
    };
    impl.set = async (prefix, index, value) => {
      await backend.set(key(prefix, index), new CacheValue(value as Buffer, new Date(Date.now() + TTL_MS)));
    };
    // The options object is made once, as a service would keep it: the cell measures getOrSet, not literals.
    const options = { ttl: TTL_MS };
    impl.getOrSet = (prefix, index) => backend.getOrSet<Buffer>(key(prefix, index), factoryOnAHit, options);
  }
  return impl;
}

/** The factory of the fresh-hit cells: every entry is there and fresh, so a call is a failure of the cell. */
async function factoryOnAHit(): Promise<Buffer> {
  throw new Error('getOrSet ran its factory on an entry that is there and fresh');
}

async function seed(ctx: ContenderContext): Promise<ContenderImpl> {
  // ioredis defaults (auto-pipelining off): explicit pipelines are what hitbox-redis sends.
  const client = await ioredisClient(ctx, false);
  return {
    valueType: 'buffer',
    async get(prefix, index) {
      const key = keyText(prefix, index);
      const replies = (await client.pipeline().hmgetBuffer(key, 'd', 's').pttl(key).exec())!;
      const [fieldsReply, pttlReply] = replies as [[Error | null, (Buffer | null)[]], [Error | null, number]];
      if (fieldsReply[0]) throw fieldsReply[0];
      if (pttlReply[0]) throw pttlReply[0];
      const [data, stale] = fieldsReply[1];
      if (!data) return null;
      const pttl = pttlReply[1];
      const entry = {
        data,
        stale: stale ? new Date(Number(stale.toString())) : null,
        expire: pttl >= 0 ? new Date(Date.now() + pttl) : null,
      };
      return entry.data;
    },
    async set(prefix, index, value) {
      const key = keyText(prefix, index);
      const replies = (await client.pipeline().hset(key, 'd', value).pexpire(key, TTL_MS).exec())!;
      for (const [error] of replies) if (error) throw error;
    },
    async remove(prefix, index) {
      return (await client.del(keyText(prefix, index))) > 0;
    },
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close: async () => void client.disconnect(),
  };
}

/** The Buffer-reply variants of ioredis' script commands: they exist at runtime, its typings leave them out. */
export type BufferScripts = {
  evalshaBuffer(sha: string, keys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
  evalsha_roBuffer(sha: string, keys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
};

async function rawEvalsha(ctx: ContenderContext, autoPipelining: boolean): Promise<ContenderImpl> {
  const { readScript, writeScript, removeScript } = await importScripts();
  const client = await ioredisClient(ctx, autoPipelining);
  // Loaded up front (the floor has no NOSCRIPT handling): on every primary of a cluster.
  const nodes = client.isCluster ? (client as import('ioredis').Cluster).nodes('master') : [client as import('ioredis').Redis];
  for (const node of nodes) for (const script of [readScript, writeScript, removeScript]) await node.script('LOAD', script.source);
  const scripts = client as unknown as BufferScripts;
  const readOnly = ctx.topology === 'single';
  return {
    valueType: 'buffer',
    async get(prefix, index) {
      const key = keyText(prefix, index);
      const reply = (await (readOnly ? scripts.evalsha_roBuffer(readScript.sha1, 1, key) : scripts.evalshaBuffer(readScript.sha1, 1, key))) as [Buffer, unknown, number] | null;
      return reply === null ? null : reply[0];
    },
    async set(prefix, index, value) {
      await scripts.evalshaBuffer(writeScript.sha1, 1, keyText(prefix, index), value, '', TTL_MS, '');
    },
    async remove(prefix, index) {
      return ((await scripts.evalshaBuffer(removeScript.sha1, 1, keyText(prefix, index))) as number) > 0;
    },
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close: async () => void client.disconnect(),
  };
}

async function rawGetSet(ctx: ContenderContext): Promise<ContenderImpl> {
  const client = await ioredisClient(ctx, true);
  return {
    valueType: 'buffer',
    get: (prefix, index) => client.getBuffer(keyText(prefix, index)),
    async set(prefix, index, value) {
      await client.set(keyText(prefix, index), value, 'PX', TTL_MS);
    },
    async remove(prefix, index) {
      return (await client.del(keyText(prefix, index))) > 0;
    },
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close: async () => void client.disconnect(),
  };
}

async function keyvOverOurs(ctx: ContenderContext): Promise<ContenderImpl> {
  const { RedisBackend, ConnectionMode } = await importLib();
  const { KeyvRedisLua } = await importKeyvAdapter();
  const { Keyv } = await import('keyv');
  const mode = ctx.topology === 'cluster' ? ConnectionMode.cluster(ctx.nodes.map(urlOf)) : ConnectionMode.single(urlOf(ctx.nodes[0]!));
  const backend = RedisBackend.builder().connection(mode).build();
  // The store's prefix is the dataset's: its key of Keyv key pad12(i) is then keyText(prefix, i), as for every contender.
  const keyvs = new Map<string, InstanceType<typeof Keyv>>();
  const keyvOf = (prefix: string): InstanceType<typeof Keyv> => {
    let keyv = keyvs.get(prefix);
    if (keyv === undefined) {
      keyv = new Keyv({ store: new KeyvRedisLua(backend, { prefix, throwOnErrors: true }), namespace: undefined, useKeyPrefix: false, throwOnErrors: true });
      keyv.on('error', () => undefined);
      keyvs.set(prefix, keyv);
    }
    return keyv;
  };
  return {
    valueType: 'string',
    get: (prefix, index) => keyvOf(prefix).get(pad12(index)),
    async set(prefix, index, value) {
      const ok = await keyvOf(prefix).set(pad12(index), value, TTL_MS);
      if (ok === false) throw new Error('keyv.set returned false');
    },
    remove: (prefix, index) => keyvOf(prefix).delete(pad12(index)),
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close: () => backend.close(),
  };
}

async function keyvLike(ctx: ContenderContext, cacheManager: boolean): Promise<ContenderImpl> {
  const { createKeyv, createCluster } = await import('@keyv/redis');
  // throwOnErrors: failures reject (and are counted) instead of reading as misses; no cost on success.
  const keyv =
    ctx.topology === 'cluster'
      ? // createKeyv is typed for single-node clients only; it hands the connection to KeyvRedis, which takes a cluster.
        createKeyv(createCluster({ rootNodes: ctx.nodes.map((node) => ({ url: urlOf(node) })) }) as unknown as Parameters<typeof createKeyv>[0], { throwOnErrors: true })
      : createKeyv(urlOf(ctx.nodes[0]!), { throwOnErrors: true });
  keyv.on('error', () => undefined);
  // Connect before the first operations: @keyv/redis connects lazily in every call that finds the client
  // closed, and concurrent first calls on a cluster client break it (all but one fail with
  // "Cannot read properties of undefined (reading 'master')").
  await (keyv.store as { getClient(): Promise<unknown> }).getClient();
  if (!cacheManager) {
    return {
      valueType: 'string',
      get: (prefix, index) => keyv.get(keyText(prefix, index)),
      async set(prefix, index, value) {
        const ok = await keyv.set(keyText(prefix, index), value, TTL_MS);
        if (ok === false) throw new Error('keyv.set returned false');
      },
      remove: (prefix, index) => keyv.delete(keyText(prefix, index)),
      scanPattern: (prefix) => `_prefix=${prefix}&*`,
      close: () => keyv.disconnect(),
    };
  }
  const { createCache } = await import('cache-manager');
  const cache = createCache({ stores: [keyv] });
  return {
    valueType: 'string',
    get: (prefix, index) => cache.get(keyText(prefix, index)),
    async set(prefix, index, value) {
      await cache.set(keyText(prefix, index), value, TTL_MS);
    },
    remove: (prefix, index) => cache.del(keyText(prefix, index)),
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close: () => cache.disconnect().then(() => undefined),
  };
}

async function bento(ctx: ContenderContext): Promise<ContenderImpl> {
  const { BentoCache, bentostore } = await import('bentocache');
  const { redisDriver } = await import('bentocache/drivers/redis');
  const connection = await ioredisClient(ctx, true);
  const cache = new BentoCache({
    default: 'redis',
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection })) },
  });
  return {
    valueType: 'string',
    get: (prefix, index) => cache.get({ key: keyText(prefix, index) }),
    async set(prefix, index, value) {
      await cache.set({ key: keyText(prefix, index), value, ttl: TTL_MS });
    },
    remove: (prefix, index) => cache.delete({ key: keyText(prefix, index) }),
    scanPattern: (prefix) => `*_prefix=${prefix}&*`,
    close: async () => {
      await cache.disconnectAll().catch(() => undefined);
      connection.disconnect();
    },
  };
}

async function nodeRedis(ctx: ContenderContext, evalsha: boolean): Promise<ContenderImpl> {
  if (ctx.topology !== 'single') throw new Error('node-redis analysis contenders run on a single node only');
  const { createClient, RESP_TYPES } = await import('@redis/client');
  const base = createClient({ url: urlOf(ctx.nodes[0]!) });
  base.on('error', () => undefined);
  await base.connect();
  const client = base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const close = async () => {
    base.destroy();
  };
  if (evalsha) {
    const { readScript, writeScript, removeScript } = await importScripts();
    for (const script of [readScript, writeScript, removeScript]) await base.scriptLoad(script.source);
    return {
      valueType: 'buffer',
      async get(prefix, index) {
        const reply = (await client.evalShaRo(readScript.sha1, { keys: [keyText(prefix, index)] })) as unknown as [Buffer, unknown, number] | null;
        return reply === null ? null : reply[0];
      },
      async set(prefix, index, value) {
        await client.evalSha(writeScript.sha1, { keys: [keyText(prefix, index)], arguments: [value as unknown as string, '', String(TTL_MS), ''] });
      },
      async remove(prefix, index) {
        return ((await client.evalSha(removeScript.sha1, { keys: [keyText(prefix, index)] })) as unknown as number) > 0;
      },
      scanPattern: (prefix) => `_prefix=${prefix}&*`,
      close,
    };
  }
  return {
    valueType: 'buffer',
    get: (prefix, index) => client.get(keyText(prefix, index)),
    async set(prefix, index, value) {
      await client.set(keyText(prefix, index), value as unknown as string, { PX: TTL_MS });
    },
    async remove(prefix, index) {
      return (await client.del(keyText(prefix, index))) > 0;
    },
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close,
  };
}

type Lib = Awaited<ReturnType<typeof importLib>>;

/** Our raw layer (read/write/remove) as a contender, on keys `prefix` + zero-padded index. */
function rawLayer(lib: Lib, backend: InstanceType<Lib['RedisBackend']>, close: () => Promise<void>): ContenderImpl {
  const { CacheKey, CacheValue } = lib;
  const key = (prefix: string, index: number) => new CacheKey(prefix, 1, [{ key: 'k', value: pad12(index) }]);
  return {
    valueType: 'buffer',
    async get(prefix, index) {
      const hit = await backend.read(key(prefix, index));
      return hit === null ? null : hit.data;
    },
    async set(prefix, index, value) {
      await backend.write(key(prefix, index), new CacheValue(value as Buffer, new Date(Date.now() + TTL_MS)));
    },
    async remove(prefix, index) {
      return (await backend.remove(key(prefix, index))).kind === 'deleted';
    },
    scanPattern: (prefix) => `_prefix=${prefix}&*`,
    close,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The stampede block (src/stampede.ts): each contender's own get-or-compute call, as its users would write it.

export interface StampedeContenderInfo {
  id: string;
  label: string;
  config: string;
}

export const STAMPEDE_CONTENDERS: StampedeContenderInfo[] = [
  {
    id: 'ours',
    label: 'redis-lua-cache getOrSet (ioredis driver)',
    config: 'RedisBackend.builder().connection(ConnectionMode.single(url)).build(), every default; backend.getOrSet(key, factory, { ttl: 60 s }): lockTimeout 10 s and the rest at their defaults.',
  },
  {
    id: 'ours-node-redis',
    label: 'redis-lua-cache getOrSet (node-redis driver)',
    config: "As `ours`, with .driver('node-redis').",
  },
  {
    id: 'cache-manager',
    label: 'cache-manager 7 wrap (Keyv + @keyv/redis)',
    config: 'createCache({ stores: [createKeyv(url, { throwOnErrors: true })] }), as in the other blocks; cache.wrap(key, factory, 60 s). wrap coalesces the calls of one process per key (@cacheable/utils coalesceAsync); nothing across processes.',
  },
  {
    id: 'bentocache',
    label: 'bentocache getOrSet (Redis layer only)',
    config: "new BentoCache({ default: 'redis', stores: { redis: bentostore().useL2Layer(redisDriver({ connection })) } }), as in the other blocks; bento.getOrSet({ key, factory, ttl: 60 s }). Its stampede protection is an in-memory lock per key: one process.",
  },
  {
    id: 'bentocache-tiered',
    label: 'bentocache getOrSet (memory L1 + Redis L2 + Redis bus)',
    config:
      "The multi-tier setup its documentation recommends for several instances: bentostore().useL1Layer(memoryDriver()).useL2Layer(redisDriver({ connection })).useBus(redisBusDriver({ connection: { host, port } })); bento.getOrSet({ key, factory, ttl: 60 s }). The bus keeps the L1 layers in sync; the lock is still per process.",
  },
];

/** One process of a stampede: `getOrSet` of the contender on cold keys. */
export interface StampedeImpl {
  getOrSet(prefix: string, index: number, factory: () => Promise<string>): Promise<string>;
  close(): Promise<void>;
}

export async function createStampedeContender(id: string, ctx: ContenderContext, ttlMs: number): Promise<StampedeImpl> {
  if (ctx.topology !== 'single') throw new Error('the stampede block runs on a single node');
  const node = ctx.nodes[0]!;
  switch (id) {
    case 'ours':
    case 'ours-node-redis': {
      const { RedisBackend, ConnectionMode, CacheKey } = await importLib();
      const backend = RedisBackend.builder()
        .driver(id === 'ours' ? 'ioredis' : 'node-redis')
        .connection(ConnectionMode.single(urlOf(node)))
        .build();
      const options = { ttl: ttlMs };
      return {
        getOrSet: (prefix, index, factory) => backend.getOrSet<string>(new CacheKey(prefix, 1, [{ key: 'k', value: pad12(index) }]), factory, options),
        close: () => backend.close(),
      };
    }
    case 'cache-manager': {
      const { createKeyv } = await import('@keyv/redis');
      const keyv = createKeyv(urlOf(node), { throwOnErrors: true });
      keyv.on('error', () => undefined);
      await (keyv.store as { getClient(): Promise<unknown> }).getClient();
      const { createCache } = await import('cache-manager');
      const cache = createCache({ stores: [keyv] });
      return {
        getOrSet: (prefix, index, factory) => cache.wrap(keyText(prefix, index), factory, ttlMs),
        close: () => cache.disconnect().then(() => undefined),
      };
    }
    case 'bentocache':
    case 'bentocache-tiered': {
      const { BentoCache, bentostore } = await import('bentocache');
      const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis');
      const connection = await ioredisClient(ctx, true);
      let store = bentostore();
      if (id === 'bentocache-tiered') {
        const { memoryDriver } = await import('bentocache/drivers/memory');
        store = store.useL1Layer(memoryDriver()).useL2Layer(redisDriver({ connection })).useBus(redisBusDriver({ connection: { host: node.host, port: node.port } }));
      } else store = store.useL2Layer(redisDriver({ connection }));
      const cache = new BentoCache({ default: 'redis', stores: { redis: store } });
      return {
        getOrSet: (prefix, index, factory) => cache.getOrSet({ key: keyText(prefix, index), factory, ttl: ttlMs }),
        close: async () => {
          await cache.disconnectAll().catch(() => undefined);
          connection.disconnect();
        },
      };
    }
    default:
      throw new Error(`unknown stampede contender ${id}`);
  }
}
