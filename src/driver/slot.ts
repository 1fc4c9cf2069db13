import type { RedisKey } from '../core/scripting.js';

/** The number of hash slots of a Redis Cluster. */
export const SLOTS = 16384;

// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/**
 * The hash slot of `key` in a Redis Cluster, as the server computes it: the CRC16 of its bytes (of its
 * UTF-8 bytes for text), or of the part between the first `{` and the next `}` when that part is not empty.
 */
export function keySlot(key: RedisKey): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(OPEN);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let index = start; index < end; index++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[index]!) & 0xff]!;
  return crc % SLOTS;
}
