/** The in-process Redis Cluster harness (test/helpers/cluster.ts) against real redis-server processes. */
import { readdirSync, readFileSync } from 'node:fs';

import { Cluster } from 'ioredis';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { startCluster, type ClusterNodeUnderTest, type ClusterUnderTest } from '../helpers/cluster.js';

const SLOTS = 16384;
let cluster: ClusterUnderTest | undefined;
let startupMs = Number.NaN;
/** The redis-server pid of every node, as the servers report it themselves (INFO server). */
const pids: number[] = [];
const clients: Cluster[] = [];

function started(): ClusterUnderTest {
  if (!cluster) throw new Error('the cluster did not start');
  return cluster;
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(text)?.[1];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    assert.is((error as NodeJS.ErrnoException).code, 'ESRCH', `process.kill(${pid}, 0)`);
    return false;
  }
}

/** redis-server processes whose parent is this test process (Linux /proc), whoever else runs servers meanwhile. */
function ownRedisServers(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const match = /^\d+ \((.*)\) \S+ (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (match && match[1] === 'redis-server' && Number(match[2]) === process.pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

interface Range {
  start: number;
  end: number;
  ids: string[];
}

async function slotRanges(node: ClusterNodeUnderTest): Promise<Range[]> {
  const reply = (await node.admin.call('CLUSTER', 'SLOTS')) as [number, number, ...[string, number, string][]][];
  return reply
    .map(([start, end, ...nodes]) => ({ start, end, ids: nodes.map((n) => n[2]) }))
    .sort((a, b) => a.start - b.start);
}

/** The node (among `nodes`) that serves `slot` as primary, per `node`'s CLUSTER SLOTS. */
async function ownerOf(slot: number, nodes: readonly ClusterNodeUnderTest[], ask: ClusterNodeUnderTest): Promise<ClusterNodeUnderTest> {
  const range = (await slotRanges(ask)).find((r) => r.start <= slot && slot <= r.end);
  assert.ok(range, `slot ${slot} is served`);
  for (const node of nodes) if ((await node.nodeId()) === range!.ids[0]) return node;
  throw new Error(`slot ${slot}: owner ${range!.ids[0]} is none of the nodes`);
}

test.before(async () => {
  const begin = performance.now();
  cluster = await startCluster();
  startupMs = performance.now() - begin;
  console.log(`  cluster of 3 primaries + 3 replicas ready in ${Math.round(startupMs)} ms`);
});

test.after(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

test('starts 3 primaries and 3 replicas in well under 10 s', async () => {
  const { nodes, seedUrls } = started();
  assert.ok(startupMs < 10_000, `startup took ${Math.round(startupMs)} ms`);
  assert.is(nodes.length, 6);
  assert.equal(seedUrls, nodes.map((node) => `redis://127.0.0.1:${node.port}`));
  assert.is(new Set(nodes.map((node) => node.port)).size, 6, 'distinct ports');
  for (const node of nodes) {
    assert.is(node.host, '127.0.0.1');
    assert.not.equal(node.port, 6379);
    const info = await node.admin.info('server');
    assert.is(field(info, 'redis_mode'), 'cluster');
    assert.is(Number(field(info, 'tcp_port')), node.port);
    pids.push(Number(field(info, 'process_id')));
  }
  assert.is(new Set(pids).size, 6, 'six distinct processes');
  assert.equal(ownRedisServers().sort(), [...pids].sort(), 'the six servers are children of this process');
});

test('every node reports cluster_state:ok and full slot coverage', async () => {
  for (const node of started().nodes) {
    const info = String(await node.admin.call('CLUSTER', 'INFO'));
    assert.is(field(info, 'cluster_state'), 'ok', `${node.port} cluster_state`);
    assert.is(Number(field(info, 'cluster_slots_assigned')), SLOTS);
    assert.is(Number(field(info, 'cluster_slots_ok')), SLOTS);
    assert.is(Number(field(info, 'cluster_known_nodes')), 6);
    assert.is(Number(field(info, 'cluster_size')), 3);
    const ranges = await slotRanges(node);
    assert.is(ranges.length, 3, `${node.port} sees 3 slot ranges`);
    let next = 0;
    for (const range of ranges) {
      assert.is(range.start, next, 'contiguous');
      assert.is(range.ids.length, 2, `slots ${range.start}-${range.end}: a primary and its replica`);
      next = range.end + 1;
    }
    assert.is(next, SLOTS);
  }
});

test('3 primaries, 3 replicas, each replica attached to a distinct primary', async () => {
  const c = started();
  const primaries = await c.primaries();
  const replicas = await c.replicas();
  assert.equal(primaries, c.nodes.slice(0, 3), 'primaries first');
  assert.equal(replicas, c.nodes.slice(3), 'then replicas');
  for (const node of primaries) assert.is(await node.role(), 'primary');
  const masterPorts = new Set<number>();
  for (const replica of replicas) {
    assert.is(await replica.role(), 'replica');
    const info = await replica.admin.info('replication');
    assert.is(field(info, 'master_link_status'), 'up');
    masterPorts.add(Number(field(info, 'master_port')));
  }
  assert.equal([...masterPorts].sort(), primaries.map((p) => p.port).sort(), 'one replica per primary');
  // Every node agrees (CLUSTER NODES) on which primary each replica follows.
  const ids = new Map(await Promise.all(c.nodes.map(async (node) => [await node.nodeId(), node] as const)));
  assert.is(ids.size, 6, 'distinct node ids');
  for (const node of c.nodes) {
    const lines = String(await node.admin.call('CLUSTER', 'NODES')).trim().split('\n');
    assert.is(lines.length, 6);
    for (const line of lines) {
      const [id, , flags, master] = line.split(' ');
      const described = ids.get(id!)!;
      assert.ok(described, `known id ${id}`);
      if (replicas.includes(described)) {
        assert.ok(flags!.includes('slave'), line);
        const info = await described.admin.info('replication');
        assert.is(ids.get(master!)?.port, Number(field(info, 'master_port')), line);
      } else {
        assert.ok(flags!.includes('master'), line);
      }
    }
  }
});

test('an ioredis Cluster client writes and reads keys on every primary', async () => {
  const c = started();
  const primaries = c.nodes.slice(0, 3);
  const client = new Cluster([{ host: c.nodes[0]!.host, port: c.nodes[0]!.port }]);
  clients.push(client);
  // Keys until every primary owns at least 3 of them.
  const owner = new Map<string, ClusterNodeUnderTest>();
  const slotOf = new Map<string, number>();
  for (let i = 0; primaries.some((p) => [...owner.values()].filter((o) => o === p).length < 3); i++) {
    const key = `harness:key:${i}`;
    const slot = Number(await c.nodes[0]!.admin.call('CLUSTER', 'KEYSLOT', key));
    slotOf.set(key, slot);
    owner.set(key, await ownerOf(slot, primaries, c.nodes[0]!));
  }
  for (const key of owner.keys()) assert.is(await client.set(key, `value of ${key}`), 'OK');
  for (const key of owner.keys()) assert.is(await client.get(key), `value of ${key}`);
  for (const primary of primaries) {
    const mine = [...owner].filter(([, o]) => o === primary).map(([key]) => key);
    assert.ok(mine.length >= 3);
    assert.is(await primary.admin.dbsize(), mine.length, `${primary.port} holds exactly its keys`);
    for (const key of mine) {
      const slot = slotOf.get(key)!;
      const expected = [...slotOf].filter(([k, s]) => s === slot && owner.get(k) === primary).length;
      assert.is(Number(await primary.admin.call('CLUSTER', 'COUNTKEYSINSLOT', slot)), expected);
      assert.is(await primary.admin.exists(key), 1, `${key} on ${primary.port}`);
    }
  }
  client.disconnect();
});

test('killing a primary gets its replica promoted', async () => {
  const c = started();
  const victim = c.nodes[0]!;
  let heir: ClusterNodeUnderTest | undefined;
  for (const replica of await c.replicas()) {
    if (Number(field(await replica.admin.info('replication'), 'master_port')) === victim.port) heir = replica;
  }
  assert.ok(heir, 'the victim has a replica');
  const victimPid = pids[0]!;
  const begin = performance.now();
  await victim.kill();
  assert.not.ok(isAlive(victimPid), 'the killed node process is gone');
  await c.waitForOk(15_000);
  const failoverMs = performance.now() - begin;
  console.log(`  replica promoted and cluster ok ${Math.round(failoverMs)} ms after the kill`);
  assert.is(await heir!.role(), 'primary');
  const primaries = await c.primaries();
  assert.is(primaries.length, 3);
  assert.ok(primaries.includes(heir!));
  assert.not.ok(primaries.includes(victim));
  assert.ok(failoverMs < 10_000, `failover took ${Math.round(failoverMs)} ms`);
  // The other nodes kept running, and the promoted replica serves the victim's slots to a Cluster client.
  for (const pid of pids.slice(1)) assert.ok(isAlive(pid));
  const client = new Cluster([{ host: heir!.host, port: heir!.port }]);
  clients.push(client);
  // A key in the slots the victim served (0..5460), now on the promoted replica.
  const key = 'harness:after-failover:0';
  assert.is(await ownerOf(Number(await heir!.admin.call('CLUSTER', 'KEYSLOT', key)), primaries, heir!), heir!);
  assert.is(await client.set(key, 'after failover'), 'OK');
  assert.is(await client.get(key), 'after failover');
  assert.is(await heir!.admin.exists(key), 1);
  client.disconnect();
});

test('stop() leaves no redis-server process behind, and is idempotent', async () => {
  const c = started();
  assert.is(pids.length, 6);
  await c.stop();
  for (const pid of pids) assert.not.ok(isAlive(pid), `redis-server ${pid} is gone`);
  assert.equal(ownRedisServers(), []);
  await c.stop();
  assert.equal(await c.primaries(), []);
});

test('a password-protected cluster replicates and its clients authenticate', async () => {
  const password = 'cluster-secret';
  const secured = await startCluster({ primaries: 1, replicasPerPrimary: 1, password });
  try {
    const [primary, replica] = secured.nodes;
    assert.is(await replica!.role(), 'replica');
    assert.is(field(await replica!.admin.info('replication'), 'master_link_status'), 'up');
    const client = new Cluster([{ host: primary!.host, port: primary!.port }], { redisOptions: { password } });
    clients.push(client);
    assert.is(await client.set('k', 'v'), 'OK');
    assert.is(await client.get('k'), 'v');
    client.disconnect();
  } finally {
    await secured.stop();
  }
  assert.equal(ownRedisServers(), []);
});

test('a cluster that fails to start leaves nothing behind', async () => {
  // The servers start, but the admin clients cannot authenticate: startCluster stops them and rethrows.
  const error = await startCluster({ primaries: 1, replicasPerPrimary: 1, password: 'right', args: ['--requirepass', 'other'] }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.instance(error, Error);
  assert.match(error!.message, /admin connection/);
  assert.equal(ownRedisServers(), []);
});

test.run();
