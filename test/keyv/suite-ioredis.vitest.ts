import { describe } from 'vitest';

import { runKeyvSuite } from './suite.js';

describe('@keyv/test-suite over KeyvRedisLua, ioredis', () => runKeyvSuite('ioredis'));
