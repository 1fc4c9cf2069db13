// @drivers ioredis node-redis
/**
 * Faults on a real 3-primary cluster:
 * - a node whose connection goes silent without closing (a partition, a NAT that forgot it): the node is
 *   reached through a TCP fault proxy (it announces the proxy's port), which then blackholes it. Calls to
 *   it time out, the rest of the cluster keeps working, and the backend drops the silent connection by
 *   itself, so the node is usable again once reachable; a merely slow node keeps its connection;
 * - a node reconnection whose handshake is never answered is dropped after the connection timeout;
 * - a write whose node connection is killed under it fails and is never sent again;
 * - the whole cluster down: every call settles in bounded time, and so does close().
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { BackendError, CacheKey, CacheValue, ConnectionError, ConnectionMode, TimeoutError } from '../../src/index.js';
import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';
import { builder } from '../helpers/driver.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { eventually, timed } from '../helpers/settle.js';

const test = suite('cluster-faults');
const RESPONSE_TIMEOUT_MS = 200;
let cluster: ClusterUnderTest;

test.before(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0 });
});

test.after(async () => {
  await cluster.stop();
});

const key = (i: number): CacheKey => new CacheKey('silent', 1, [{ key: 'i', value: String(i) }]);

/** Waits until every node's CLUSTER SLOTS gives `port` for the slots of `node`: gossip spreads an announced port. */
async function announcedEverywhere(node: ClusterNodeUnderTest, port: number): Promise<void> {
  const id = await node.nodeId();
  await eventually(async () => {
    for (const other of cluster.nodes) {
      const owners = (await other.admin.cluster('SLOTS')).map((range) => range[2]).filter((owner) => owner?.[2] === id);
      if (owners.length === 0 || owners.some((owner) => owner?.[1] !== port)) throw new Error(`${other.port} does not announce ${port} yet`);
    }
  }, 10_000);
}

/** Runs `body` with the first node reached through a fault proxy (it announces the proxy's port), then undoes it. */
async function withProxiedNode(body: (node: ClusterNodeUnderTest, proxy: FaultProxy, others: ClusterNodeUnderTest[]) => Promise<void>): Promise<void> {
  const [node, ...others] = cluster.nodes as [ClusterNodeUnderTest, ...ClusterNodeUnderTest[]];
  const proxy = await FaultProxy.start(node.host, node.port);
  await node.admin.config('SET', 'cluster-announce-port', String(proxy.port));
  try {
    await announcedEverywhere(node, proxy.port);
    await body(node, proxy, others);
  } finally {
    await node.admin.config('SET', 'cluster-announce-port', '0');
    await announcedEverywhere(node, node.port);
    await proxy.close();
  }
}

test('a silently dead node connection is dropped and replaced; the other nodes never notice', async () => {
  await withProxiedNode(async (silent, proxy, others) => {
    const backend = builder()
      .connection(ConnectionMode.cluster(others.map((node) => node.url)))
      .responseTimeout(RESPONSE_TIMEOUT_MS)
      .build();
    try {
      const keys = Array.from({ length: 60 }, (_, i) => key(i));
      await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue({ i }))));
      const onSilent = await heldBy(silent, keys);
      const elsewhere = keys.filter((k) => !onSilent.includes(k));
      assert.ok(onSilent.length > 5 && elsewhere.length > 5, `${onSilent.length} keys on the silent node, ${elsewhere.length} elsewhere`);
      assert.ok(proxy.accepted >= 1, 'the silent node is reached through the proxy');
      const connectionsBefore = proxy.accepted;

      proxy.mode = { kind: 'blackhole' };
      const lost = await Promise.all(onSilent.map((k) => timed(backend.get(k))));
      assert.ok(
        lost.every((call) => call.error instanceof TimeoutError && call.ms < RESPONSE_TIMEOUT_MS * 2),
        JSON.stringify(lost.map((call) => [String(call.error), call.ms])),
      );
      const fine = await Promise.all(elsewhere.map((k) => backend.get<{ i: number }>(k)));
      assert.ok(fine.every((entry, n) => entry?.data.i === keys.indexOf(elsewhere[n] as CacheKey)), 'the other primaries answer throughout');

      // Nothing closes the silent connection but the backend: TCP would keep it for many minutes. (A slot
      // refresh may open other connections to the node meanwhile; only those from before the blackhole count.)
      await proxy.closedThrough(connectionsBefore, RESPONSE_TIMEOUT_MS * 10);

      proxy.mode = { kind: 'pass' };
      await eventually(() => backend.get(onSilent[0] as CacheKey));
      assert.ok(proxy.accepted > connectionsBefore, 'a new connection to the node was opened');
      const back = await Promise.all(onSilent.map((k) => backend.get<{ i: number }>(k)));
      assert.ok(back.every((entry, n) => entry?.data.i === keys.indexOf(onSilent[n] as CacheKey)), 'every entry of the node reads back');
    } finally {
      await backend.close();
    }
  });
});

test('a node reconnection whose handshake is never answered is dropped after the connection timeout, and tried again', async () => {
  await withProxiedNode(async (node, proxy, others) => {
    const backend = builder().connection(ConnectionMode.cluster(others.map((other) => other.url))).connectionTimeout(300).build();
    try {
      const keys = Array.from({ length: 30 }, (_, i) => key(400 + i));
      await Promise.all(keys.map((k, i) => backend.set(k, new CacheValue(i))));
      const onNode = await heldBy(node, keys);
      assert.ok(onNode.length > 0, 'some key lives on the proxied node');
      // New connections are accepted but nothing reaches the server: the reconnection's handshake stalls.
      proxy.mode = { kind: 'blackhole' };
      const first = proxy.accepted;
      proxy.cutAll();
      // Calls to the node have it reconnect (ioredis reconnects a cluster node only when it is needed).
      await eventually(async () => {
        const during = await timed(backend.get(onNode[0] as CacheKey));
        assert.instance(during.error, ConnectionError, 'a call while the node is unreachable fails for want of a connection');
        if (proxy.accepted === first) throw new Error('no reconnection yet');
      });
      // Only the backend can close the stalled connection: it does so once the connection timeout has passed.
      await proxy.closedThrough(proxy.accepted, 2_000);
      proxy.mode = { kind: 'pass' };
      await eventually(() => backend.get(onNode[0] as CacheKey));
      const back = await Promise.all(onNode.map((k) => backend.get<number>(k)));
      assert.equal(
        back.map((entry) => entry?.data),
        onNode.map((k) => keys.indexOf(k)),
        'every entry of the node reads back',
      );
    } finally {
      await backend.close();
    }
  });
});

test('a busy node is not taken for dead: a slow script answer keeps the connection', async () => {
  const backend = builder()
    .connection(ConnectionMode.cluster(cluster.seedUrls))
    .responseTimeout(RESPONSE_TIMEOUT_MS)
    .build();
  const node = cluster.nodes[0] as ClusterNodeUnderTest;
  try {
    const keys = Array.from({ length: 30 }, (_, i) => key(100 + i));
    await Promise.all(keys.map((k) => backend.set(k, new CacheValue('x'))));
    const mine = await heldBy(node, keys);
    const before = await clientIds(node);
    assert.is(before.length, 1, 'one connection of the backend serves the node');
    // The node answers nothing for 1.5 response timeouts, then everything: slow, not dead.
    const pause = node.admin.client('PAUSE', String(Math.round(RESPONSE_TIMEOUT_MS * 1.5)), 'ALL');
    const during = await Promise.all(mine.map((k) => timed(backend.get(k))));
    await pause;
    assert.ok(during.every((call) => call.error instanceof TimeoutError), JSON.stringify(during.map((call) => String(call.error))));
    // The pause holds the admin's PING too: once it is answered, the node answers again. A call sent before
    // that would wait out the rest of the pause plus the admin's own delay, which on a busy machine can
    // reach the response timeout.
    await node.admin.ping();
    // Steady calls across the rest of the window: each is answered, so the connection stays.
    const until = Date.now() + RESPONSE_TIMEOUT_MS * 2;
    while (Date.now() < until) await backend.get(mine[0] as CacheKey);
    assert.equal(await clientIds(node), before, 'the same connection serves the node');
  } finally {
    await backend.close();
  }
});

test('a write whose node connection is killed under it fails with ConnectionError and is never sent again', async () => {
  const backend = builder().connection(ConnectionMode.cluster(cluster.seedUrls)).build();
  const node = cluster.nodes[1] as ClusterNodeUnderTest;
  try {
    const keys = Array.from({ length: 30 }, (_, i) => key(200 + i));
    await Promise.all(keys.map((k) => backend.set(k, new CacheValue('before'))));
    const target = (await heldBy(node, keys))[0] as CacheKey;
    await node.admin.client('PAUSE', '5000', 'WRITE');
    try {
      const write = timed(backend.set(target, new CacheValue('old')));
      // The write has reached the node and waits there, postponed by the pause: then its connection dies.
      let blocked = '';
      await eventually(async () => {
        blocked = /^id=(\d+) .*flags=\S*b\S* /m.exec(String(await node.admin.client('LIST')))?.[1] ?? '';
        if (blocked === '') throw new Error('the write has not reached the node yet');
      });
      await node.admin.client('KILL', 'ID', blocked);
      const outcome = await write;
      assert.instance(outcome.error, ConnectionError, `the write ${outcome.error === null ? 'succeeded: it was sent again' : String(outcome.error)}`);
    } finally {
      await node.admin.client('UNPAUSE');
    }
    assert.is((await backend.get<string>(target))?.data, 'before', 'the killed write was not applied');
  } finally {
    await backend.close();
  }
});

// Last: it kills every node of the cluster.
test('the whole cluster down: every call settles within its bounds, and close() too', async () => {
  const backend = builder()
    .connection(ConnectionMode.cluster(cluster.seedUrls))
    .responseTimeout(RESPONSE_TIMEOUT_MS)
    .connectionTimeout(400)
    .build();
  const keys = Array.from({ length: 20 }, (_, i) => key(300 + i));
  await Promise.all(keys.map((k) => backend.set(k, new CacheValue('x'))));
  await Promise.all(cluster.nodes.map((node) => node.kill()));
  const calls = await Promise.all(keys.map((k, i) => timed(i % 2 === 0 ? backend.get(k) : backend.set(k, new CacheValue('y')))));
  assert.ok(
    calls.every((call) => call.error instanceof BackendError && call.ms < 1_500),
    JSON.stringify(calls.map((call) => [String(call.error), call.ms])),
  );
  const later = await timed(backend.get(keys[0] as CacheKey));
  assert.ok(later.error instanceof ConnectionError && later.ms < 1_500, `${String(later.error)} after ${later.ms} ms`);
  const closing = await timed(backend.close());
  assert.ok(closing.error === null && closing.ms < 1_500, `close(): ${String(closing.error)} after ${closing.ms} ms`);
});

/** The keys among `keys` (all written) that `node` holds: a plain client gets MOVED for the others, so ask by slot. */
async function heldBy(node: ClusterNodeUnderTest, keys: CacheKey[]): Promise<CacheKey[]> {
  const held = await Promise.all(
    keys.map(async (k) => Number(await node.admin.cluster('COUNTKEYSINSLOT', Number(await node.admin.cluster('KEYSLOT', String(k))))) > 0),
  );
  return keys.filter((_, i) => held[i]);
}

/** Ids of the node's connections whose last command was a script call: the backend's. */
async function clientIds(node: ClusterNodeUnderTest): Promise<string[]> {
  const list = String(await node.admin.client('LIST'));
  return [...list.matchAll(/^id=(\d+) .*? cmd=(evalsha\S*)/gm)].map((m) => m[1] as string).sort();
}

test.run();
