import { ConnectFailure } from './failures.js';

/** One page of SCAN on one node: the next cursor (`'0'` when done) and the keys of the page. */
export type ScanPage = (cursor: string) => Promise<readonly [string, Buffer[]]>;

/**
 * The keys of every node, a page at a time: each node's SCAN loop run to its end (cursor `'0'`), one node
 * after the other. Empty pages (SCAN returns them when MATCH filters out a whole stretch) are skipped.
 * No node at all (a cluster client that lost its slot map) is a failure: it must not pass for an empty keyspace.
 */
export async function* scanEach(nodes: readonly ScanPage[]): AsyncGenerator<Buffer[]> {
  if (nodes.length === 0) throw new ConnectFailure('no primary is known to scan; nothing was scanned');
  for (const page of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await page(cursor);
      if (keys.length > 0) yield keys;
      cursor = next;
    } while (cursor !== '0');
  }
}
