import type { BackendError, ErrorContext } from '../core/errors.js';
import type { ScriptArgument, ScriptDefinition } from '../core/scripting.js';
import type { ConnectionMode } from '../driver/connection-mode.js';
import type { Driver } from '../driver/driver.js';
import type { ClientSettings } from '../driver/settings.js';

/** Placeholder until the node-redis driver lands. */
export class NodeRedisDriver implements Driver {
  readonly name = 'node-redis' as const;
  static open(mode: ConnectionMode, settings: ClientSettings): NodeRedisDriver {
    void mode;
    void settings;
    throw new Error('not yet');
  }
  static over(client: object): NodeRedisDriver {
    void client;
    throw new Error('not yet');
  }
  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    void script;
    void keysAndArguments;
    throw new Error('not yet');
  }
  whenReady(): Promise<void> | undefined {
    return undefined;
  }
  toBackendError(error: unknown, context: ErrorContext): BackendError {
    void context;
    throw error;
  }
  async close(): Promise<void> {}
}
