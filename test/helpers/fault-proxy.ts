import { createServer, connect, type Server, type Socket } from 'node:net';

/** How the proxy treats traffic from now on. */
export type FaultMode =
  /** Forward both ways. */
  | { readonly kind: 'pass' }
  /** Forward both ways after `ms` milliseconds (bytes keep their order). */
  | { readonly kind: 'delay'; readonly ms: number }
  /**
   * Forward nothing and close nothing: the connection is silently gone, as behind a partition or a NAT
   * that forgot it. Bytes sent meanwhile are lost.
   */
  | { readonly kind: 'blackhole' }
  /** Close every new connection at once, as a server that is down would refuse it; open ones are left alone. */
  | { readonly kind: 'refuse' };

interface Pair {
  /** 1 for the first connection accepted, then 2, ... */
  readonly number: number;
  readonly client: Socket;
  readonly server: Socket;
}

/**
 * A TCP proxy on loopback between the backend and a redis-server, that delays, blackholes or cuts
 * connections on demand, including in the middle of a reply.
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #mode: FaultMode = { kind: 'pass' };
  #cutNextReply = false;
  #closeWaiters: { readonly through: number; readonly done: () => void }[] = [];
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts a proxy to `targetHost:targetPort` on a free loopback port. */
  static async start(targetHost: string, targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetHost, targetPort));
    proxy = new FaultProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections open right now. */
  get open(): number {
    return this.#pairs.size;
  }

  set mode(mode: FaultMode) {
    this.#mode = mode;
  }

  /**
   * Resolves once each of the first `through` connections accepted is closed (at once when they are);
   * rejects after `timeoutMs`. Connections accepted later do not count.
   */
  closedThrough(through: number, timeoutMs: number): Promise<void> {
    if (!this.#anyOpenThrough(through)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a connection among the first ${through} is still open after ${timeoutMs} ms`)), timeoutMs);
      this.#closeWaiters.push({
        through,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #anyOpenThrough(through: number): boolean {
    for (const pair of this.#pairs) if (pair.number <= through) return true;
    return false;
  }

  /** Destroys every open connection (RST), as a crashed middlebox would. */
  cutAll(): void {
    for (const pair of this.#pairs) this.#destroy(pair);
  }

  /** The next chunk the server sends is cut in half: its first half is forwarded, then both sides are destroyed. */
  cutNextReply(): void {
    this.#cutNextReply = true;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.#mode.kind === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const server = connect(port, host);
    const pair: Pair = { number: ++this.accepted, client, server };
    this.#pairs.add(pair);
    client.on('data', (chunk: Buffer) => this.#forward(chunk, server));
    server.on('data', (chunk: Buffer) => {
      if (this.#cutNextReply && chunk.length > 1) {
        this.#cutNextReply = false;
        client.write(chunk.subarray(0, chunk.length >> 1), () => this.#destroy(pair));
        return;
      }
      this.#forward(chunk, client);
    });
    for (const socket of [client, server]) {
      socket.on('error', () => this.#destroy(pair));
      socket.on('close', () => this.#destroy(pair));
    }
  }

  #forward(chunk: Buffer, to: Socket): void {
    const mode = this.#mode;
    if (mode.kind === 'blackhole') return;
    if (mode.kind === 'delay') {
      setTimeout(() => to.destroyed || to.write(chunk), mode.ms);
      return;
    }
    to.write(chunk);
  }

  #destroy(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server.destroy();
    const waiting = this.#closeWaiters;
    this.#closeWaiters = waiting.filter((waiter) => this.#anyOpenThrough(waiter.through));
    for (const waiter of waiting) if (!this.#closeWaiters.includes(waiter)) waiter.done();
  }
}
