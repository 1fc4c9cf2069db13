import { describe } from 'vitest';

import { runKeyvSuite } from './suite.js';

describe('@keyv/test-suite over KeyvRedisLua, node-redis', () => runKeyvSuite('node-redis'));
