/** Resolves with the error `promise` rejects with; fails the test when it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

/** Settles `promise`, returning the error (or null) and how long it took. */
export async function timed(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

/** Calls `attempt` until it succeeds, at most `limit` ms; polling is the only way to see a server come back. */
export async function eventually(attempt: () => Promise<unknown>, limit = 5_000): Promise<void> {
  const deadline = Date.now() + limit;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Settles as `promise` does, or fails with `what` after `limit` ms: a call that should answer at once never hangs the file. */
export function within<T>(what: string, promise: Promise<T>, limit = 2_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${limit} ms: ${what}`)), limit);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
