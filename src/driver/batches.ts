import type { RedisKey } from '../core/scripting.js';
import { keySlot } from './slot.js';

/**
 * Most keys one many-key script call takes. A call is atomic, so it blocks the server while it runs: at
 * this size a read or write of 100-byte entries keeps it busy well under a millisecond (see the README's
 * many-key section for the measurement), and a larger batch is sent as several such calls.
 */
export const BATCH_CHUNK = 100;

/**
 * The script calls a many-key operation over `keys` makes, each a list of positions in `keys`, in order.
 * On a single node: consecutive chunks of at most `chunk` keys. On a cluster: one group per hash slot
 * (a script's keys must share one), each chunked the same way.
 */
export function batchesOf(keys: readonly RedisKey[], clustered: boolean, chunk: number = BATCH_CHUNK): number[][] {
  const batches: number[][] = [];
  if (!clustered) {
    for (let start = 0; start < keys.length; start += chunk) {
      batches.push(Array.from({ length: Math.min(chunk, keys.length - start) }, (_, offset) => start + offset));
    }
    return batches;
  }
  const bySlot = new Map<number, number[]>();
  for (let index = 0; index < keys.length; index++) {
    const slot = keySlot(keys[index]!);
    let open = bySlot.get(slot);
    if (open === undefined || open.length === chunk) {
      open = [];
      bySlot.set(slot, open);
      batches.push(open);
    }
    open.push(index);
  }
  return batches;
}
