import { type BackendError, ConfigurationError, type ErrorContext, TimeoutError } from '../core/errors.js';
import type { ScriptArgument, ScriptDefinition, ScriptRunner } from '../core/scripting.js';
import type { ClusterConnectionMode, ConnectionMode, SingleConnectionMode } from '../driver/connection-mode.js';
import type { Driver } from '../driver/driver.js';
import { ConnectFailure } from '../driver/failures.js';
import { scanEach } from '../driver/scan.js';
import type { ClientSettings } from '../driver/settings.js';
import { settleWithin } from '../driver/settle.js';
import { WaitingCalls } from '../driver/waiting-calls.js';
import { BUFFER_REPLIES, createClusterClient, type NodeRedisCluster, type NodeRedisNodeClient } from './clients.js';
import { ClusterRecovery } from './cluster-recovery.js';
import { NodeRedisClusterRunner } from './cluster-runner.js';
import { SingleConnection } from './connection.js';
import { withinTimeout } from './commands.js';
import { isConnectionFailure, toBackendError } from './errors.js';
import { isNodeRedisCluster } from './detect.js';
import { checkInternals, dropNodeClient } from './internals.js';
import { NodeConnections } from './node-connections.js';
import { NodeRedisRunner } from './runner.js';
import { SilentConnectionWatch } from './silent-connections.js';

/** What a connected driver holds: its runner, and how to let go of what it opened. */
interface Connected {
  readonly runner: ScriptRunner & { whenReady?(): Promise<void> | undefined };
  /** Fails the calls waiting for the connection, closes what the driver opened (bounded). */
  close(): Promise<void>;
  readonly watch: SilentConnectionWatch | null;
  readonly recovery: ClusterRecovery | null;
  /** The clients of the primaries, as the slot map lists them now. */
  primaries(): Promise<NodeRedisNodeClient[]>;
}

/** The primaries' clients of a cluster, each connected if need be. */
function clusterPrimaries(cluster: NodeRedisCluster): Promise<NodeRedisNodeClient[]> {
  return Promise.all(cluster.masters.map((node) => cluster.nodeClient(node)));
}

/**
 * The backend's connection through node-redis 5 (`@redis/client`): a client or cluster it opens from a
 * connection mode, or one the application gave it.
 *
 * # Caveats
 * - `.autoPipelining(false)` is refused (see `unsupportedOption`): node-redis always writes the calls of
 *   one event-loop turn together.
 * - A client the application gave is used as it is (its offline queue, timeouts and reconnection apply);
 *   one that is not open yet is connected on the first call. `close()` leaves it open.
 */
export class NodeRedisDriver implements Driver {
  readonly name = 'node-redis' as const;
  readonly #mode: ConnectionMode | null;
  readonly #settings: ClientSettings | null;
  readonly #given: NodeRedisNodeClient | NodeRedisCluster | null;
  /** Set once connected; the hot path reads only this. */
  #connected: Connected | null = null;
  #connecting: Promise<Connected> | null = null;
  #closed = false;

  private constructor(mode: ConnectionMode | null, settings: ClientSettings | null, given: object | null) {
    this.#mode = mode;
    this.#settings = settings;
    this.#given = given as NodeRedisNodeClient | NodeRedisCluster | null;
  }

  /** A driver that opens its own client for `mode`, on the first call. */
  static open(mode: ConnectionMode, settings: ClientSettings): NodeRedisDriver {
    return new NodeRedisDriver(mode, settings, null);
  }

  /** A driver over a client or cluster the application owns; its own options apply. */
  static over(client: object): NodeRedisDriver {
    return new NodeRedisDriver(null, null, client);
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const connected = this.#connected;
    if (connected !== null) return connected.runner.run(script, keysAndArguments);
    return this.#connect().then((opened) => opened.runner.run(script, keysAndArguments));
  }

  whenReady(): Promise<void> | undefined {
    const connected = this.#connected;
    if (connected !== null) return connected.runner.whenReady?.();
    return this.#connect().then((opened) => opened.runner.whenReady?.());
  }

  toBackendError(error: unknown, context: ErrorContext): BackendError {
    const failure = toBackendError(error, context);
    if (failure instanceof TimeoutError) this.#connected?.watch?.start();
    else if (isConnectionFailure(error)) this.#connected?.recovery?.start();
    return failure;
  }

  async *scanPrimaries(pattern: string, count: number): AsyncGenerator<Buffer[]> {
    const primaries = await (this.#connected ?? (await this.#connect())).primaries();
    // The response timeout of the driver's own connection; a given client's own options apply to it.
    const timeoutMs = this.#settings?.responseTimeout ?? null;
    yield* scanEach(
      primaries.map((client) => async (cursor: string) => {
        const reply = client.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(count)], BUFFER_REPLIES);
        const [next, keys] = (await (timeoutMs === null ? reply : withinTimeout(reply, timeoutMs))) as [Buffer, Buffer[]];
        return [next.toString(), keys] as const;
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connected = this.#connected ?? (await this.#connecting?.catch(() => null)) ?? null;
    this.#connected = null;
    await connected?.close();
  }

  /** Opens the connection once for all concurrent callers; a failure is not kept, so the next call retries. */
  #connect(): Promise<Connected> {
    if (this.#closed) return Promise.reject(new ConnectFailure('the backend is closed'));
    return (this.#connecting ??= this.#open().then(
      (connected) => {
        if (this.#closed) {
          void connected.close();
          throw new ConnectFailure('the backend is closed');
        }
        return (this.#connected = connected);
      },
      (error: unknown) => {
        this.#connecting = null;
        throw error;
      },
    ));
  }

  #open(): Promise<Connected> {
    if (this.#given !== null) return openGiven(this.#given);
    const mode = this.#mode as ConnectionMode;
    const settings = this.#settings as ClientSettings;
    return mode.kind === 'single' ? openSingle(mode, settings) : openCluster(mode, settings);
  }
}

async function openGiven(client: NodeRedisNodeClient | NodeRedisCluster): Promise<Connected> {
  if (!client.isOpen) await client.connect();
  if (isNodeRedisCluster(client)) {
    const cluster = client as NodeRedisCluster;
    checkInternals(cluster);
    return { runner: new NodeRedisClusterRunner(cluster, false), close: async () => undefined, watch: null, recovery: null, primaries: () => clusterPrimaries(cluster) };
  }
  const single = client as NodeRedisNodeClient;
  const runner = new NodeRedisRunner({ client: single, isReady: true });
  return { runner, close: async () => undefined, watch: null, recovery: null, primaries: async () => [single] };
}

async function openSingle(mode: SingleConnectionMode, settings: ClientSettings): Promise<Connected> {
  const connection = new SingleConnection(mode.endpoint, mode.backoffBase, settings);
  await connection.open(mode.describe());
  const waiting = new WaitingCalls(settings.responseTimeout ?? settings.connectionTimeout, settings.retries, {
    isReady: () => connection.isReady,
    isEnded: () => connection.isEnded,
    state: () => connection.state,
  });
  connection.listen({ ready: () => waiting.sendAll(), reconnecting: () => waiting.countAttempt() });
  const watch = settings.responseTimeout === null ? null : new SilentConnectionWatch(settings.responseTimeout, () => connection.replace());
  const runner = new NodeRedisRunner(connection, {
    waiting,
    ...(watch === null ? {} : { responseTimeout: { ms: settings.responseTimeout as number, watch } }),
  });
  return {
    runner,
    watch,
    recovery: null,
    primaries: async () => [connection.client],
    async close() {
      watch?.stop();
      waiting.abandon(new ConnectFailure('the backend is closed; nothing was sent'));
      await connection.close();
    },
  };
}

async function openCluster(mode: ClusterConnectionMode, settings: ClientSettings): Promise<Connected> {
  const cluster = createClusterClient(mode, settings);
  let lastError: unknown;
  // Without a listener node-redis throws its connection errors; keep the latest for the message.
  cluster.on('error', (error: unknown) => (lastError = error));
  cluster.on('node-error', () => undefined);
  try {
    await settleWithin(cluster.connect(), settings.connectionTimeout, 'no connection');
    checkInternals(cluster);
  } catch (error) {
    if (cluster.isOpen) cluster.destroy();
    if (!(error instanceof Error) || error instanceof ConfigurationError) throw error;
    const detail = lastError instanceof Error ? `${error.message} (${lastError.message})` : error.message;
    throw ConnectFailure.describe(detail, mode.describe(), settings.connectionTimeout);
  }
  const drop = (client: NodeRedisNodeClient): void => {
    const node = [...cluster.masters, ...cluster.replicas].find((candidate) => candidate.client === client);
    if (node !== undefined) dropNodeClient(node);
  };
  const watch = settings.responseTimeout === null ? null : new SilentConnectionWatch(settings.responseTimeout, drop);
  const nodes = new NodeConnections(cluster, settings);
  const recovery = new ClusterRecovery(cluster);
  const rerouting = { recovery, limitMs: settings.responseTimeout ?? settings.connectionTimeout, refreshes: settings.retries };
  const timeout = watch === null ? undefined : { ms: settings.responseTimeout as number, watch };
  const runner = new NodeRedisClusterRunner(cluster, mode.replicaReads, nodes, timeout, rerouting);
  return {
    runner,
    watch,
    recovery,
    primaries: () => clusterPrimaries(cluster),
    async close() {
      watch?.stop();
      try {
        await settleWithin(cluster.close(), settings.connectionTimeout, 'no reply');
      } catch {
        if (cluster.isOpen) cluster.destroy();
      }
    },
  };
}
