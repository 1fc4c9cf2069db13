import type { Cluster, Redis } from 'ioredis';

import { ConnectionError, TimeoutError, type BackendError, type ErrorContext } from '../core/errors.js';
import type { ScriptArgument, ScriptDefinition } from '../core/scripting.js';
import type { ConnectionMode } from '../driver/connection-mode.js';
import type { Driver } from '../driver/driver.js';
import { ConnectFailure } from '../driver/failures.js';
import { scanEach } from '../driver/scan.js';
import type { ClientSettings } from '../driver/settings.js';
import { settleWithin } from '../driver/settle.js';
import { createClient, probeFirstSeed } from './clients.js';
import { connectFailureOf, toBackendError } from './errors.js';
import { checkInternals, lastNodeErrorOf, setLastNodeError, TEXTS } from './internals.js';
import { IoredisScriptRunner, type IoredisClient } from './runner.js';
import { SilentConnectionWatch } from './silent-connections.js';

/**
 * The backend's connection through ioredis: a client it opens from a connection mode, or one the
 * application gave it.
 */
export class IoredisDriver implements Driver {
  readonly name = 'ioredis' as const;
  readonly #mode: ConnectionMode | null;
  readonly #settings: ClientSettings | null;
  /** Set once connected (at once for a given client); the hot path reads only this. */
  #runner: IoredisScriptRunner | null;
  /** The client this driver created and must close; never a client it was given. */
  #ownedClient: IoredisClient | null = null;
  /** The client the application gave, if any. */
  readonly #givenClient: IoredisClient | null;
  #connecting: Promise<IoredisScriptRunner> | null = null;
  #closed = false;
  /** Replaces connections that went silent; only for a client the driver owns and a response timeout. */
  #silence: SilentConnectionWatch | null = null;

  private constructor(mode: ConnectionMode | null, settings: ClientSettings | null, client: IoredisClient | null) {
    this.#mode = mode;
    this.#settings = settings;
    this.#runner = client === null ? null : new IoredisScriptRunner(client);
    this.#givenClient = client;
  }

  /** A driver that opens its own client for `mode`, on the first call. */
  static open(mode: ConnectionMode, settings: ClientSettings): IoredisDriver {
    return new IoredisDriver(mode, settings, null);
  }

  /** A driver over a client the application owns; its own options apply. Throws `ConfigurationError` if it lacks the internals used. */
  static over(client: IoredisClient): IoredisDriver {
    checkInternals(client);
    return new IoredisDriver(null, null, client);
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const runner = this.#runner;
    if (runner !== null) return runner.run(script, keysAndArguments);
    return this.#connect().then((connected) => connected.run(script, keysAndArguments));
  }

  whenReady(): Promise<void> | undefined {
    const runner = this.#runner;
    if (runner !== null) return runner.whenReady();
    return this.#connect().then((connected) => connected.whenReady());
  }

  toBackendError(error: unknown, context: ErrorContext): BackendError {
    const failure = toBackendError(error, context);
    if (!(failure instanceof TimeoutError)) return failure;
    const client = this.#ownedClient;
    // The call was sent, and its connection went down before the reply: the connection is the problem,
    // not a slow reply. (A write lost in flight like this may have been applied.)
    if (client !== null && client.status !== 'ready') {
      return new ConnectionError(`no connection to Redis within the response timeout (${client.status})`, context, { cause: failure.cause });
    }
    this.#silence?.start();
    return failure;
  }

  async *scanPrimaries(pattern: string, count: number): AsyncGenerator<Buffer[]> {
    if (this.#runner === null) await this.#connect();
    const client = this.#ownedClient ?? this.#givenClient;
    if (client === null || this.#closed) throw new ConnectFailure('the backend is closed');
    const primaries: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    yield* scanEach(
      primaries.map((node) => async (cursor: string) => {
        const [next, keys] = await node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', count);
        return [next.toString(), keys] as const;
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#silence?.stop();
    // Calls waiting in the runner for its connection are abandoned: a given client's runner never has any.
    const runner = this.#runner;
    this.#runner = null;
    await this.#connecting?.catch(() => undefined);
    runner?.abandonWaiting(new ConnectFailure('the backend is closed; nothing was sent'));
    const client = this.#ownedClient;
    this.#ownedClient = null;
    if (client === null) return;
    try {
      // QUIT waits for a reply that a silently dead connection never sends.
      await settleWithin(client.quit(), (this.#settings as ClientSettings).connectionTimeout, 'no reply to QUIT');
    } catch {
      client.disconnect();
    }
  }

  /** Opens the connection once for all concurrent callers; a failure is not kept, so the next call retries. */
  #connect(): Promise<IoredisScriptRunner> {
    if (this.#closed) return Promise.reject(new ConnectFailure('the backend is closed'));
    return (this.#connecting ??= this.#open());
  }

  async #open(): Promise<IoredisScriptRunner> {
    // Only a driver from a mode has no runner before it connects.
    const mode = this.#mode as ConnectionMode;
    const settings = this.#settings as ClientSettings;
    const client = createClient(mode, settings);
    let lastError: unknown;
    // Without a listener ioredis prints every connection error to the console; keep the latest for the message.
    client.on('error', (error: unknown) => {
      lastError = error;
    });
    try {
      // ioredis' own connect timeout covers the TCP handshake only; this bounds TLS, AUTH and the ready check too.
      await settleWithin(client.connect(), settings.connectionTimeout, 'no connection');
    } catch (error) {
      client.disconnect();
      // ioredis' cluster client asks CLUSTER SLOTS on a throw-away connection and drops that connection's error:
      // all it says is "Connection is closed.". One direct connection to the first seed tells why.
      if (mode.kind === 'cluster' && lastNodeErrorOf(lastError)?.message === TEXTS.connectionClosed) {
        const why = await probeFirstSeed(mode, settings);
        if (why !== undefined) setLastNodeError(lastError, why);
      }
      this.#connecting = null;
      throw connectFailureOf(lastError ?? error, mode.describe(), settings.connectionTimeout);
    }
    if (this.#closed) {
      client.disconnect();
      throw new ConnectFailure('the backend is closed');
    }
    try {
      checkInternals(client);
    } catch (error) {
      client.disconnect();
      this.#connecting = null;
      throw error;
    }
    this.#ownedClient = client;
    if (settings.responseTimeout !== null) this.#silence = new SilentConnectionWatch(client, settings.responseTimeout);
    const runner = new IoredisScriptRunner(client, {
      reconnectLimitMs: settings.responseTimeout ?? settings.connectionTimeout,
      retries: settings.retries,
      batch: settings.autoPipelining,
    });
    this.#runner = runner;
    return runner;
  }
}
