/**
 * The timer of a silent-connection watch, shared by the drivers: one judgement at a time, a window after
 * it was scheduled.
 *
 * @module
 */

/**
 * Runs a watch's judgement `windowMs` after {@link schedule}, in the check phase (`setImmediate`) of
 * that loop turn: after its poll phase has read the replies that arrived while the process was busy, so
 * that a blocked event loop does not make a connection look silent. Unref'd: it never keeps a process alive.
 */
export class SilenceTimer {
  readonly #windowMs: number;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** A judgement is pending: a watch started meanwhile joins it. */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** Runs `judge` one window from now (nothing if one is pending). */
  schedule(judge: () => void): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = setImmediate(() => {
        this.#timer = null;
        judge();
      });
    }, this.#windowMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
    }
    this.#timer = null;
  }
}
