import type { Attributes, Counter, Histogram } from '@opentelemetry/api';

import type { FactoryMessage, GetOrSetLookupMessage, LeaseWaitMessage } from '../../core/diagnostics.js';
import { lookupAttributes } from './attributes.js';
import type { Settled } from './calls.js';
import { errorType } from './errors.js';
import { ATTR } from './names.js';

/** The instruments of the cache layer's own metrics. */
export interface CacheInstruments {
  readonly lookups: Counter;
  readonly factoryDuration: Histogram;
  readonly leaseWaitDuration: Histogram;
}

/** Records `getOrSet`'s lookups, factory durations and lease waits from the channels' messages. */
export class CacheRecorder {
  readonly #instruments: CacheInstruments;

  constructor(instruments: CacheInstruments) {
    this.#instruments = instruments;
  }

  lookup(message: GetOrSetLookupMessage): void {
    this.#instruments.lookups.add(1, lookupAttributes(message.backend, 'getOrSet', message.result));
  }

  factoryBegin(): number {
    return performance.now();
  }

  factoryFinish(message: Settled<FactoryMessage>, startedAt: number): void {
    const attributes: Attributes = { [ATTR.label]: message.backend.label, [ATTR.factoryRefresh]: message.refresh };
    if ('error' in message) attributes[ATTR.errorType] = errorType(message.error);
    this.#instruments.factoryDuration.record((performance.now() - startedAt) / 1000, attributes);
  }

  leaseWait(message: LeaseWaitMessage): void {
    this.#instruments.leaseWaitDuration.record(message.durationMs / 1000, { [ATTR.label]: message.backend.label, [ATTR.leaseWaitOutcome]: message.outcome });
  }
}
