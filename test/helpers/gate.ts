/** A promise the test settles: a factory waits on one, so the test decides what happens while it runs. */
export interface Gate<T> {
  readonly promise: Promise<T>;
  open(value: T): void;
}

// Gates not yet opened: a test that fails midway leaves no factory held into the next test.
const shut = new Set<() => void>();

/** A new gate; `tracked` ones are opened by {@link openAbandonedGates}. */
export function gate<T = void>(tracked = true): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  if (tracked) {
    // Opened rather than failed: a rejection nobody awaits any more would be an unhandled one.
    const abandon = (): void => open(undefined as T);
    shut.add(abandon);
    void promise.then(() => shut.delete(abandon));
  }
  return { promise, open };
}

/** Opens every gate a test left shut, so that its factories end. */
export function openAbandonedGates(): void {
  for (const abandon of [...shut]) abandon();
}
