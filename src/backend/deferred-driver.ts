import { BackendError, ConnectionError, type ErrorContext } from '../core/errors.js';
import type { ScriptArgument, ScriptDefinition } from '../core/scripting.js';
import type { Driver, DriverName } from '../driver/driver.js';
import { ConnectFailure, connectionFailure } from '../driver/failures.js';

/**
 * A driver whose module is imported on the first call, so that an optional client library is loaded
 * only by the backends that use it. Once loaded, every call goes straight to it.
 */
export class DeferredDriver implements Driver {
  readonly name: DriverName;
  readonly #load: () => Promise<Driver>;
  #driver: Driver | null = null;
  #loading: Promise<Driver> | null = null;
  #closed = false;

  constructor(name: DriverName, load: () => Promise<Driver>) {
    this.name = name;
    this.#load = load;
  }

  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    const driver = this.#driver;
    if (driver !== null) return driver.run(script, keysAndArguments);
    return this.#loaded().then((loaded) => loaded.run(script, keysAndArguments));
  }

  whenReady(): Promise<void> | undefined {
    const driver = this.#driver;
    if (driver !== null) return driver.whenReady();
    return this.#loaded().then((loaded) => loaded.whenReady());
  }

  toBackendError(error: unknown, context: ErrorContext): BackendError {
    if (this.#driver !== null) return this.#driver.toBackendError(error, context);
    // Before the module loaded, a failure is the backend being closed, or the import itself.
    if (error instanceof BackendError) return error;
    if (error instanceof ConnectFailure) return connectionFailure(error, context);
    const why = error instanceof Error ? error.message : String(error);
    return new ConnectionError(`the ${this.name} driver could not be loaded: ${why}`, context, { cause: error });
  }

  async *scanPrimaries(pattern: string, count: number): AsyncGenerator<Buffer[]> {
    yield* (this.#driver ?? (await this.#loaded())).scanPrimaries(pattern, count);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const driver = this.#driver ?? (await this.#loading?.catch(() => null)) ?? null;
    await driver?.close();
  }

  #loaded(): Promise<Driver> {
    if (this.#closed) return Promise.reject(new ConnectFailure('the backend is closed'));
    return (this.#loading ??= this.#load().then(
      (driver) => (this.#driver = driver),
      (error: unknown) => {
        this.#loading = null;
        throw error;
      },
    ));
  }
}
