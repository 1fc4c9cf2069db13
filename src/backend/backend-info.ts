import type { BackendInfo, OperationMessage, TracedOperation } from '../core/diagnostics.js';
import type { BackendConfig } from './config.js';

/**
 * How a backend's diagnostics messages describe it: its label and the server of its connection URL (a
 * cluster's first seed: the node that serves a key is known only to the driver), never its credentials.
 * A client given with `.client()` has no URL here: its server is left out.
 */
export function backendInfo(config: BackendConfig): BackendInfo {
  const { target } = config;
  const endpoint = target.kind === 'client' ? undefined : target.mode.kind === 'single' ? target.mode.endpoint : target.mode.seeds[0];
  return Object.freeze({
    label: config.label,
    serverAddress: endpoint?.host,
    serverPort: endpoint?.port,
    database: target.kind === 'mode' && target.mode.kind === 'single' ? target.mode.endpoint.db : undefined,
    clustered: config.clustered,
  });
}

/** The message of one operation of the backend `info` describes; `batch` the keys or entries of a many-key one. */
export function operationMessage(info: BackendInfo, operation: TracedOperation, batch?: unknown, script?: string): OperationMessage {
  return { backend: info, operation, script, batchSize: Array.isArray(batch) ? batch.length : undefined };
}
