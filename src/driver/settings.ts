import type { ConnectionOptions as TlsOptions } from 'node:tls';

/** What the backend's builder options say about connections, resolved to their defaults; a driver applies them. */
export interface ClientSettings {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly connectionTimeout: number;
  readonly responseTimeout: number | null;
  readonly retries: number;
  readonly autoPipelining: boolean;
  /** Node TLS options from `.tls()`; when set, TLS is on whatever the URL scheme. */
  readonly tls: TlsOptions | undefined;
}

/** Longest pause between two reconnection attempts, whatever the exponent base. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** The pause before reconnection attempt `attempt` (from 1): `base^attempt` ms, at most 2 s. Both drivers use it. */
export function reconnectDelay(base: number, attempt: number): number {
  return Math.min(base ** attempt, MAX_RECONNECT_DELAY_MS);
}
