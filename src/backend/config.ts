import type { Compressor } from '../codecs/compressor.js';
import type { CacheKeyFormat } from '../codecs/key-format.js';
import type { Format } from '../codecs/value-format.js';
import type { ErrorListener } from '../cache/get-or-set.js';
import type { ConnectionMode } from '../driver/connection-mode.js';
import type { DriverName } from '../driver/driver.js';
import type { ClientSettings } from '../driver/settings.js';

/** Where a backend's driver connects: a mode of its own, or a client the application owns. */
export type ConnectionTarget =
  | { readonly kind: 'mode'; readonly mode: ConnectionMode; readonly settings: ClientSettings }
  | { readonly kind: 'client'; readonly client: object };

/** Everything a backend needs, resolved from its builder's options and checked. */
export interface BackendConfig {
  readonly label: string;
  readonly keyFormat: CacheKeyFormat;
  readonly valueFormat: Format;
  readonly compressor: Compressor;
  readonly maxValueBytes: number;
  readonly maxBackgroundRefreshes: number;
  readonly onError: ErrorListener;
  readonly driver: DriverName;
  /** Whether the target is a Redis Cluster: many-key operations then group their keys by slot. */
  readonly clustered: boolean;
  readonly target: ConnectionTarget;
}
