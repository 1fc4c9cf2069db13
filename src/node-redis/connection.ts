/**
 * The single-node connection a backend opens through node-redis: one client at a time, replaced when
 * its connection has to be dropped.
 *
 * @module
 */
import type { Endpoint } from '../driver/connection-mode.js';
import { ConnectFailure } from '../driver/failures.js';
import { reconnectDelay, type ClientSettings } from '../driver/settings.js';
import { settleWithin } from '../driver/settle.js';
import { createSingleClient, type NodeRedisNodeClient } from './clients.js';

/** What a connection tells about itself: it became ready, or it starts a reconnection attempt. */
export interface ConnectionEvents {
  ready(): void;
  reconnecting(): void;
}

/**
 * node-redis bounds the TCP (and TLS) connect only, and its public API cannot drop a connection and keep
 * the client: so a connection is dropped by replacing the whole client. That covers a reconnection whose
 * handshake (AUTH, SELECT) is never answered, dropped after the connection timeout and tried again, and a
 * connection that went silent ({@link replace}).
 *
 * The first connection fails at its first failed attempt (the next call tries again); once connected, a
 * lost connection is re-established in the background with the mode's backoff.
 */
export class SingleConnection {
  readonly #endpoint: Endpoint;
  readonly #settings: ClientSettings;
  readonly #backoffBase: number;
  #client: NodeRedisNodeClient;
  #connection: object = {};
  #connected = false;
  #closed = false;
  #events: ConnectionEvents | null = null;
  #lastError: unknown;
  #handshakeTimer: NodeJS.Timeout | undefined;

  constructor(endpoint: Endpoint, backoffBase: number, settings: ClientSettings) {
    this.#endpoint = endpoint;
    this.#settings = settings;
    this.#backoffBase = backoffBase;
    this.#client = this.#create();
  }

  /** New with each connection the current client makes (a runner's scripts are sent again on a new one). */
  get connection(): object {
    return this.#connection;
  }

  /** The current client: the hot path sends on it. */
  get client(): NodeRedisNodeClient {
    return this.#client;
  }

  /** Whether a call made now would be sent at once. */
  get isReady(): boolean {
    return this.#client.isReady;
  }

  /** Its state, for messages. */
  get state(): string {
    return this.#closed ? 'closed' : this.#client.isReady ? 'ready' : this.#client.isOpen ? 'reconnecting' : 'gave up reconnecting';
  }

  /** Whether it was closed, or gave up reconnecting: nothing will be sent any more. */
  get isEnded(): boolean {
    return this.#closed || !this.#client.isOpen;
  }

  /** Receives the connection's events from now on (the runner: to send waiting calls, and count attempts). */
  listen(events: ConnectionEvents): void {
    this.#events = events;
  }

  /** Opens the first connection, within the connection timeout. Throws a {@link ConnectFailure}. */
  async open(where: string): Promise<void> {
    try {
      await settleWithin(this.#client.connect(), this.#settings.connectionTimeout, 'no connection');
    } catch (error) {
      destroyQuietly(this.#client);
      const timedOut = error instanceof Error && error.message.startsWith('no connection within');
      const detail = timedOut ? error : (this.#lastError ?? error);
      throw ConnectFailure.describe(detail instanceof Error ? detail.message : String(detail), where, this.#settings.connectionTimeout);
    }
  }

  /**
   * Drops the connection and opens another, in the background: the calls in flight on it fail (node-redis
   * rejects them with "Disconnects client"), later ones wait for the new connection.
   */
  replace(): void {
    if (this.#closed) return;
    const old = this.#client;
    this.#client = this.#create();
    this.#retire(old);
    this.#events?.reconnecting();
    this.#client.connect().catch(() => undefined);
  }

  /** Closes the connection: waits for the replies still due, at most the connection timeout, then drops it. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#handshakeTimer);
    const client = this.#client;
    if (!client.isOpen) return;
    try {
      await settleWithin(client.close(), this.#settings.connectionTimeout, 'no reply');
    } catch {
      destroyQuietly(client);
    }
  }

  #create(): NodeRedisNodeClient {
    const client = createSingleClient(this.#endpoint, this.#settings, (attempt) =>
      this.#connected && !this.#closed ? reconnectDelay(this.#backoffBase, attempt) : false,
    );
    // Without a listener node-redis throws its connection errors. Until the first connection is up, an error
    // ends the attempt (its policy gives up at once): the client is dropped there and then, because node-redis
    // leaves a socket that failed after its TLS handshake (a refused client certificate) open, listening for
    // one error only, and its next one (ECONNRESET) would be thrown. The first error is the message's.
    client.on('error', (error: unknown) => {
      if (this.#connected) return;
      this.#lastError ??= error;
      destroyQuietly(client);
    });
    client.on('connect', () => {
      if (client === this.#client) this.#connection = {};
      if (!this.#connected) return;
      clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = setTimeout(() => {
        if (client === this.#client && !client.isReady) this.replace();
      }, this.#settings.connectionTimeout);
      this.#handshakeTimer.unref();
    });
    client.on('ready', () => {
      this.#connected = true;
      clearTimeout(this.#handshakeTimer);
      if (client === this.#client) this.#events?.ready();
    });
    client.on('reconnecting', () => {
      if (client === this.#client) this.#events?.reconnecting();
    });
    return client;
  }

  #retire(client: NodeRedisNodeClient): void {
    client.removeAllListeners();
    client.on('error', () => undefined);
    destroyQuietly(client);
  }
}

/** Drops `client`'s connection at once, failing what it holds; nothing if it is closed already. */
export function destroyQuietly(client: NodeRedisNodeClient): void {
  if (client.isOpen) client.destroy();
}
