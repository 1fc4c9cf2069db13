/**
 * A real Redis Cluster of redis-server processes started in-process (through redis-memory-server, the
 * redis-server on the PATH, see redisServerBinary in redis.ts), for tests and benchmarks. Joined and configured with plain commands only
 * (CLUSTER SET-CONFIG-EPOCH / ADDSLOTSRANGE / MEET / REPLICATE), and every wait is a short poll with an
 * overall timeout, never a fixed sleep.
 *
 * Notes on redis-memory-server 0.17 (see node_modules/redis-memory-server/lib/util/RedisInstance.js):
 * - it always puts `--save '' --appendonly no --bind <ip> --port <port>` first and our `args` after them, so
 *   later arguments win; it passes no `--dir`, so without one every node would write its nodes.conf into the
 *   current working directory: each node gets `--dir` and an absolute `--cluster-config-file` of its own;
 * - the port asked for is only a wish: when it is taken, get-port silently picks another one (and a start that
 *   fails with "shutting down" is retried on a random port), so the port actually used is read back and a
 *   node that did not get the port it was given is restarted on fresh ports;
 * - it spawns a watchdog node process (redis_killer.js) per server, and `stop()` sends SIGINT and waits up to
 *   10 s (then SIGKILL, then another 10 s) per process; this harness SIGKILLs both processes itself;
 * - a server that never prints "Ready to accept connections" would make `start()` hang forever: starts are
 *   raced against a timeout and a `--pidfile` lets us find and kill such a process.
 *
 * With the `tls` option every node is TLS-only: `--port 0` (after redis-memory-server's own `--port`, so it
 * wins) turns the plain port off, the port the harness picked becomes `--tls-port`, and `--tls-cluster yes
 * --tls-replication yes` put the cluster bus and replication on TLS too; the nodes then announce their TLS
 * ports (CLUSTER SLOTS, CLUSTER NODES, redirections). A TLS-only server prints "Ready to accept connections"
 * too, so readiness works the same.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import { RedisMemoryServer } from 'redis-memory-server';

import { redisServerBinary } from './redis.js';
import { tlsServerArgs } from './tls.js';

export interface ClusterNodeUnderTest {
  /** Always `127.0.0.1`. */
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:port` (`rediss://127.0.0.1:port` with the `tls` option). */
  readonly url: string;
  /** A plain ioredis client to this node only (not a Cluster client); over TLS with the `tls` option. */
  readonly admin: Redis;
  /** The node's current role, asked live (ROLE). */
  role(): Promise<'primary' | 'replica'>;
  /** CLUSTER MYID. */
  nodeId(): Promise<string>;
  /** SIGKILLs this node's redis-server (the others keep running), and disconnects `admin`. */
  kill(): Promise<void>;
}

export interface ClusterUnderTest {
  /** Primaries first (index 0..N-1), then replicas (replica k replicates primary k % N). */
  readonly nodes: readonly ClusterNodeUnderTest[];
  /** The url of every node. */
  readonly seedUrls: string[];
  /** Live nodes whose current role is primary. */
  primaries(): Promise<ClusterNodeUnderTest[]>;
  /** Live nodes whose current role is replica. */
  replicas(): Promise<ClusterNodeUnderTest[]>;
  /**
   * Polls every live node until each reports cluster_state:ok and a CLUSTER SLOTS that covers all 16384
   * slots, every slot owned by a live node, identical on every live node.
   */
  waitForOk(timeoutMs?: number): Promise<void>;
  /** Stops every process it started; idempotent; never throws. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Default 3. */
  primaries?: number;
  /** Default 1. */
  replicasPerPrimary?: number;
  /** Extra redis-server arguments for every node (they come last, so they override the harness's). */
  args?: string[];
  /** Sets `--requirepass` and `--masterauth`; the admin clients authenticate with it. */
  password?: string;
  /**
   * Starts every node TLS-only (`--port 0 --tls-port <port> --tls-cluster yes --tls-replication yes`) with this
   * certificate and key, `--tls-ca-cert-file caFile` and `--tls-auth-clients optional` (override it in `args`).
   * Nodes are reached as `127.0.0.1`, so the certificate must name `IP:127.0.0.1`; nodes present it to each
   * other as a client certificate too (cluster bus, replication), so it must allow client authentication. The
   * admin clients trust `caFile` and present the same certificate, so `--tls-auth-clients yes` works as well.
   */
  tls?: ClusterTlsOptions;
}

export interface ClusterTlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

const HOST = '127.0.0.1';
const SLOTS = 16384;
const NODE_TIMEOUT_MS = 1000;
const POLL_MS = 25;
const START_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 20_000;
const LAUNCH_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------------------------
// Safety net: whatever happens to the test process (a failed assertion, an uncaught exception, process.exit),
// every child still alive when it exits is SIGKILLed and every temporary directory removed.

const liveChildren = new Set<number>();
const liveDirs = new Set<string>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const pid of liveChildren) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGKILLs a child process and waits (bounded) until Node has seen it exit. */
async function killChild(child: ChildProcess | null | undefined): Promise<void> {
  if (!child || child.pid === undefined) return;
  const pid = child.pid;
  if (!hasExited(child)) {
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
    if (!hasExited(child)) await exited;
  }
  if (!isAlive(pid)) liveChildren.delete(pid);
}

/** For a start that never became ready: the pid from `--pidfile`, killed if it still is a redis-server. */
function killByPidFile(pidFile: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server')) return;
  } catch {
    // no /proc (not Linux) or already gone: try the kill anyway, it fails harmlessly if gone
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------------------
// Ports

/** `count` distinct loopback ports, all bound at the same time (so distinct), then released. */
async function reservePorts(count: number, exclude: ReadonlySet<number>): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      // Cluster bus ports are limited to 65535 like any port; keep 6379 (shared server) and ports used before out.
      if (!exclude.has(address.port) && address.port !== 6379 && address.port <= 65535) ports.push(address.port);
    }
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
  return ports;
}

// ---------------------------------------------------------------------------------------------------------
// Polling

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `check` every POLL_MS until it returns no problems; throws, listing the problems of the last round,
 * when `timeoutMs` has passed.
 */
async function pollUntil(what: string, timeoutMs: number, check: () => Promise<string[]>): Promise<void> {
  const started = Date.now();
  let problems: string[] = [];
  for (;;) {
    try {
      problems = await check();
    } catch (error) {
      problems = [`check failed: ${(error as Error).message}`];
    }
    if (problems.length === 0) return;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`Redis cluster: ${what} did not happen within ${timeoutMs} ms; still: ${problems.join('; ')}`);
    }
    await sleep(POLL_MS);
  }
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(text)?.[1];
}

interface NodesLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  linkState: string;
}

function parseClusterNodes(text: string): NodesLine[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const parts = line.split(' ');
      const address = parts[1] ?? '';
      return {
        id: parts[0] ?? '',
        port: Number(/:(\d+)@/.exec(address)?.[1] ?? 0),
        flags: (parts[2] ?? '').split(','),
        masterId: parts[3] ?? '-',
        linkState: parts[7] ?? '',
      };
    });
}

interface SlotRange {
  start: number;
  end: number;
  primaryId: string;
  replicaIds: string[];
}

function parseClusterSlots(reply: unknown): SlotRange[] {
  if (!Array.isArray(reply)) return [];
  return reply
    .map((entry) => {
      const row = entry as unknown[];
      const nodes = row.slice(2) as unknown[][];
      return {
        start: Number(row[0]),
        end: Number(row[1]),
        primaryId: String(nodes[0]?.[2] ?? ''),
        replicaIds: nodes.slice(1).map((node) => String(node[2] ?? '')),
      };
    })
    .sort((a, b) => a.start - b.start);
}

/** Problems with the coverage of `ranges`: gaps, overlaps, or slots not covered. */
/** The node's CLUSTER SLOTS; adds to `problems` a state that is not ok and slots it does not see covered. */
async function nodeSlots(node: ClusterNodeUnderTest, problems: string[]): Promise<SlotRange[]> {
  const [info, slots] = await Promise.all([node.admin.call('CLUSTER', 'INFO') as Promise<string>, node.admin.call('CLUSTER', 'SLOTS')]);
  const state = field(info, 'cluster_state');
  if (state !== 'ok') problems.push(`${node.port}: cluster_state:${state}`);
  const ranges = parseClusterSlots(slots);
  problems.push(...coverageProblems(ranges).map((problem) => `${node.port}: ${problem}`));
  return ranges;
}

function coverageProblems(ranges: SlotRange[]): string[] {
  const problems: string[] = [];
  let next = 0;
  for (const range of ranges) {
    if (range.start !== next) problems.push(range.start > next ? `slots ${next}-${range.start - 1} not served` : `overlap at ${range.start}`);
    next = Math.max(next, range.end + 1);
  }
  if (next < SLOTS) problems.push(`slots ${next}-${SLOTS - 1} not served`);
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Nodes

interface LaunchedNode {
  readonly port: number;
  readonly busPort: number;
  readonly dir: string;
  readonly server: RedisMemoryServer;
  readonly child: ChildProcess | undefined;
  readonly killer: ChildProcess | null;
}

class Node implements ClusterNodeUnderTest {
  readonly host = HOST;
  readonly url: string;
  readonly admin: Redis;
  killed = false;
  private cachedId: string | undefined;

  constructor(
    readonly launched: LaunchedNode,
    password: string | undefined,
    tls: ClusterTlsOptions | undefined,
  ) {
    this.url = `${tls === undefined ? 'redis' : 'rediss'}://${HOST}:${launched.port}`;
    this.admin = new Redis({
      host: HOST,
      port: launched.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // disconnect() keeps a timer (2 s by default) alive until the socket closes, which a connection that is
      // already closed never does: it would hold the test process open that long.
      disconnectTimeout: 100,
      ...(password === undefined ? {} : { password }),
      ...(tls === undefined
        ? {}
        : { tls: { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } }),
    });
    this.admin.on('error', () => undefined);
  }

  get port(): number {
    return this.launched.port;
  }

  get busPort(): number {
    return this.launched.busPort;
  }

  /** Not killed by us, and the process still runs. */
  get alive(): boolean {
    const pid = this.launched.child?.pid;
    return !this.killed && pid !== undefined && !hasExited(this.launched.child!) && isAlive(pid);
  }

  async role(): Promise<'primary' | 'replica'> {
    const reply = (await this.admin.call('ROLE')) as unknown[];
    return reply[0] === 'master' ? 'primary' : 'replica';
  }

  async nodeId(): Promise<string> {
    this.cachedId ??= String(await this.admin.call('CLUSTER', 'MYID'));
    return this.cachedId;
  }

  async kill(): Promise<void> {
    this.killed = true;
    this.admin.disconnect();
    await killChild(this.launched.child);
    await killChild(this.launched.killer);
  }
}

/** Kills both processes, then lets redis-memory-server clean up its state (fast: nothing is alive any more). */
async function shutdownLaunched(launched: LaunchedNode): Promise<void> {
  await killChild(launched.child);
  await killChild(launched.killer);
  try {
    await launched.server.stop();
  } catch {
    // its start had failed; nothing left to stop
  }
  try {
    rmSync(launched.dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

/**
 * Starts one cluster-enabled redis-server on exactly `port` (data) and `busPort` (cluster bus); throws when
 * it does not become ready or did not get the port it was given (after stopping whatever it started).
 */
async function launchNode(root: string, name: string, port: number, busPort: number, options: ClusterOptions): Promise<LaunchedNode> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  const args = [
    '--dir', dir,
    '--pidfile', pidFile,
    '--save', '',
    '--appendonly', 'no',
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, 'nodes.conf'),
    '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
    '--cluster-port', String(busPort),
    // Redis 7 defaults to diskless sync delayed by 5 s, which would hold every replica's first sync back.
    '--repl-diskless-sync-delay', '0',
    // CLUSTER SLOTS (7.0) leaves out replicas whose replication offset is still 0, and on an idle primary the
    // offset first moves with the primary's PING to its replicas, every 10 s by default: ping every second.
    '--repl-ping-replica-period', '1',
    ...(options.password === undefined ? [] : ['--requirepass', options.password, '--masterauth', options.password]),
    ...(options.tls === undefined
      ? []
      : [
          ...tlsServerArgs({ tlsPort: port, ...options.tls, authClients: 'optional' }),
          '--tls-cluster', 'yes',
          '--tls-replication', 'yes',
        ]),
    ...(options.args ?? []),
  ];
  const server = await RedisMemoryServer.create({ instance: { port, args }, binary: { systemBinary: redisServerBinary() } });
  const starting = server.start();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis-server on port ${port} not ready within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
  });
  try {
    await Promise.race([starting, timeout]);
  } catch (error) {
    killByPidFile(pidFile);
    // A start that eventually succeeds after all (after our timeout) is stopped too.
    starting.then(
      () => {
        const info = server.getInstanceInfo();
        if (info) void shutdownLaunched({ port, busPort, dir, server, child: info.childProcess, killer: info.instance.killerProcess });
      },
      () => undefined,
    );
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const info = server.getInstanceInfo();
  if (!info) throw new Error(`redis-server on port ${port}: no instance info after start`);
  const launched: LaunchedNode = { port: info.port, busPort, dir, server, child: info.childProcess, killer: info.instance.killerProcess };
  for (const child of [launched.child, launched.killer]) if (child?.pid !== undefined) liveChildren.add(child.pid);
  if (info.port !== port) {
    await shutdownLaunched(launched);
    throw new Error(`redis-memory-server started the node on port ${info.port} instead of ${port}`);
  }
  return launched;
}

// ---------------------------------------------------------------------------------------------------------
// The cluster

class Cluster implements ClusterUnderTest {
  readonly nodes: Node[] = [];
  /** Every server started, including ones whose startup failed later on (admin client not created yet). */
  readonly launched: LaunchedNode[] = [];
  private stopping: Promise<void> | undefined;

  constructor(readonly root: string) {}

  get seedUrls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  private liveNodes(): Node[] {
    return this.nodes.filter((node) => node.alive);
  }

  private async withRole(role: 'primary' | 'replica'): Promise<Node[]> {
    const live = this.liveNodes();
    const roles = await Promise.all(live.map((node) => node.role().catch(() => undefined)));
    return live.filter((_, index) => roles[index] === role);
  }

  primaries(): Promise<ClusterNodeUnderTest[]> {
    return this.withRole('primary');
  }

  replicas(): Promise<ClusterNodeUnderTest[]> {
    return this.withRole('replica');
  }

  async waitForOk(timeoutMs = 15_000): Promise<void> {
    await pollUntil('cluster_state:ok with agreed slot coverage', timeoutMs, async () => {
      const live = this.liveNodes();
      if (live.length === 0) return ['no live node'];
      const liveIds = new Set(await Promise.all(live.map((node) => node.nodeId())));
      const problems: string[] = [];
      const views = new Set<string>();
      await Promise.all(
        live.map(async (node) => {
          const ranges = await nodeSlots(node, problems);
          for (const range of ranges) {
            if (!liveIds.has(range.primaryId)) problems.push(`${node.port}: slots ${range.start}-${range.end} served by dead or unknown ${range.primaryId}`);
          }
          views.add(ranges.map((range) => `${range.start}-${range.end}:${range.primaryId}`).join(','));
        }),
      );
      if (views.size > 1) problems.push(`live nodes disagree on slot owners (${views.size} different views)`);
      return problems;
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        for (const node of this.nodes) {
          node.killed = true;
          node.admin.disconnect();
        }
        await Promise.all(this.launched.map((launched) => shutdownLaunched(launched).catch(() => undefined)));
      } catch {
        // never throws
      }
      try {
        rmSync(this.root, { recursive: true, force: true });
        liveDirs.delete(this.root);
      } catch {
        // best effort
      }
    })();
    return this.stopping;
  }

  /** Launches every node in parallel, each retried on fresh ports when its ports turn out to be taken. */
  async launch(count: number, options: ClusterOptions): Promise<void> {
    const used = new Set<number>();
    const plan = await reservePorts(count * 2, used);
    for (const port of plan) used.add(port);
    const results = await Promise.allSettled(
      Array.from({ length: count }, async (_, index) => {
        let port = plan[index * 2]!;
        let busPort = plan[index * 2 + 1]!;
        for (let attempt = 1; ; attempt++) {
          try {
            const launched = await launchNode(this.root, `node-${index}-${attempt}`, port, busPort, options);
            this.launched.push(launched);
            return launched;
          } catch (error) {
            if (attempt >= LAUNCH_ATTEMPTS) throw new Error(`node ${index}: ${(error as Error).message ?? String(error)}`);
            [port, busPort] = (await reservePorts(2, used)) as [number, number];
            used.add(port).add(busPort);
          }
        }
      }),
    );
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0) {
      throw new Error(`Redis cluster: ${failures.length} of ${count} nodes did not start: ${failures.map((f) => String(f.reason?.message ?? f.reason)).join('; ')}`);
    }
    const byIndex = results.map((result) => (result as PromiseFulfilledResult<LaunchedNode>).value);
    for (const launched of byIndex) this.nodes.push(new Node(launched, options.password, options.tls));
  }
}

/**
 * Starts `primaries` (default 3) primaries with `replicasPerPrimary` (default 1) replicas each, waits until the
 * cluster is fully formed (every node knows every other, cluster_state:ok everywhere, every replica's link up,
 * CLUSTER SLOTS complete with the replicas listed on every node), and returns it. On any error, stops every
 * process it started, then rethrows.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ClusterUnderTest> {
  const primaryCount = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  if (!Number.isInteger(primaryCount) || primaryCount < 1 || primaryCount > SLOTS) throw new Error(`primaries must be 1..${SLOTS}`);
  if (!Number.isInteger(replicasPerPrimary) || replicasPerPrimary < 0) throw new Error('replicasPerPrimary must be >= 0');
  const total = primaryCount * (1 + replicasPerPrimary);

  installSafetyNet();
  const root = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  liveDirs.add(root);
  const cluster = new Cluster(root);
  try {
    await cluster.launch(total, options);
    const nodes = cluster.nodes;
    const primaries = nodes.slice(0, primaryCount);
    const replicas = nodes.slice(primaryCount);
    const primaryOf = (replicaIndex: number): Node => primaries[replicaIndex % primaryCount]!;

    await Promise.all(
      nodes.map((node) =>
        node.admin.connect().catch((error: Error) => {
          throw new Error(`Redis cluster: admin connection to ${node.port} failed: ${error.message}`);
        }),
      ),
    );
    const ids = await Promise.all(nodes.map((node) => node.nodeId()));
    const idOf = new Map(nodes.map((node, index) => [node, ids[index]!]));

    // Distinct config epochs (as redis-cli --cluster create does) and the slots, before the nodes meet.
    await Promise.all(nodes.map((node, index) => node.admin.call('CLUSTER', 'SET-CONFIG-EPOCH', index + 1)));
    await Promise.all(
      primaries.map((node, index) => {
        const start = Math.floor((index * SLOTS) / primaryCount);
        const end = Math.floor(((index + 1) * SLOTS) / primaryCount) - 1;
        return node.admin.call('CLUSTER', 'ADDSLOTSRANGE', start, end);
      }),
    );

    // Every node meets the first (with its explicit bus port); gossip does the rest.
    const first = nodes[0]!;
    await Promise.all(nodes.slice(1).map((node) => node.admin.call('CLUSTER', 'MEET', HOST, first.port, first.busPort)));
    const allIds = new Set(ids);
    await pollUntil('every node knowing every other', READY_TIMEOUT_MS, async () => {
      const problems: string[] = [];
      await Promise.all(
        nodes.map(async (node) => {
          const lines = parseClusterNodes(String(await node.admin.call('CLUSTER', 'NODES')));
          const known = lines.filter((line) => allIds.has(line.id) && !line.flags.includes('handshake') && !line.flags.includes('noaddr') && line.linkState === 'connected');
          if (known.length !== total || lines.length !== total) problems.push(`${node.port} knows ${known.length}/${total} nodes (${lines.length} listed)`);
        }),
      );
      return problems;
    });

    await Promise.all(replicas.map((node, index) => node.admin.call('CLUSTER', 'REPLICATE', idOf.get(primaryOf(index))!)));

    const expected = new Map<string, string[]>(); // primary id -> sorted replica ids
    primaries.forEach((primary) => expected.set(idOf.get(primary)!, []));
    replicas.forEach((replica, index) => expected.get(idOf.get(primaryOf(index))!)!.push(idOf.get(replica)!));
    for (const list of expected.values()) list.sort();

    await pollUntil('cluster_state:ok, replication links up and CLUSTER SLOTS complete on every node', READY_TIMEOUT_MS, async () => {
      const problems: string[] = [];
      await Promise.all(
        nodes.map(async (node) => {
          const ranges = await nodeSlots(node, problems);
          for (const range of ranges) {
            const want = expected.get(range.primaryId);
            const got = [...range.replicaIds].sort();
            if (want === undefined) problems.push(`${node.port}: slots ${range.start}-${range.end} served by unexpected ${range.primaryId}`);
            else if (want.join() !== got.join()) problems.push(`${node.port}: slots ${range.start}-${range.end} list replicas [${got.join()}], want [${want.join()}]`);
          }
        }),
      );
      await Promise.all(
        replicas.map(async (replica, index) => {
          const info = await replica.admin.info('replication');
          const link = field(info, 'master_link_status');
          const masterPort = Number(field(info, 'master_port'));
          if (field(info, 'role') !== 'slave' || masterPort !== primaryOf(index).port) problems.push(`${replica.port}: not yet a replica of ${primaryOf(index).port}`);
          else if (link !== 'up') problems.push(`${replica.port}: master_link_status:${link}`);
        }),
      );
      return problems;
    });
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
