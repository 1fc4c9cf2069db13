/**
 * A Keyv 5 store over redis-lua-cache: `import { KeyvRedisLua } from 'redis-lua-cache/keyv'`. It needs
 * nothing of keyv at run time (keyv is an optional peer dependency).
 *
 * # Examples
 * ```ts
 * import Keyv from 'keyv';
 * import { KeyvRedisLua } from 'redis-lua-cache/keyv';
 *
 * const keyv = new Keyv({ store: new KeyvRedisLua('redis://localhost:6379') });
 * ```
 *
 * @module redis-lua-cache/keyv
 */
export { KeyvRedisLua, type KeyvRedisLuaOpts } from './store.js';
export type { KeyvRedisLuaOptions } from './options.js';
