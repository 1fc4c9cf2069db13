import { SpanKind, SpanStatusCode, context, type Attributes, type Counter, type Histogram, type Span, type Tracer } from '@opentelemetry/api';

import type { CacheValue } from '../../core/cache-value.js';
import type { LookupResult, OperationMessage } from '../../core/diagnostics.js';
import { lookupAttributes, operationAttributes } from './attributes.js';
import type { Settled } from './calls.js';
import { errorMessage, errorType, responseStatusCode } from './errors.js';
import { ATTR } from './names.js';

/** A span in progress, and what its duration is measured with. */
export interface Running {
  readonly span: Span;
  readonly startedAt: number;
  readonly attributes: Attributes;
}

/** The reads whose results are counted as lookups. */
const READS = new Set(['read', 'get', 'readMany', 'getMany']);

function lookupOf(value: unknown): LookupResult {
  if (value === null) return 'miss';
  return (value as CacheValue<unknown>).cacheState() === 'stale' ? 'stale' : 'hit';
}

/**
 * Turns each call on the operation tracing channel into a CLIENT span, a `db.client.operation.duration`
 * measurement, and, for reads, lookup counts (the `begin` and `finish` of `callSubscribers`).
 */
export class OperationRecorder {
  readonly #tracer: Tracer;
  readonly #duration: Histogram;
  readonly #lookups: Counter;

  constructor(tracer: Tracer, duration: Histogram, lookups: Counter) {
    this.#tracer = tracer;
    this.#duration = duration;
    this.#lookups = lookups;
  }

  begin(message: OperationMessage): Running {
    const { spanName, attributes } = operationAttributes(message.backend, message.operation, message.script);
    const batched = message.batchSize !== undefined && message.batchSize > 1 ? { ...attributes, [ATTR.dbOperationBatchSize]: message.batchSize } : attributes;
    // Started in the caller's context: the span is a child of whatever span is active there.
    const span = this.#tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes: batched }, context.active());
    return { span, startedAt: performance.now(), attributes };
  }

  finish(message: Settled<OperationMessage>, { span, startedAt, attributes }: Running): void {
    let measured = attributes;
    if ('error' in message) {
      const { error } = message;
      const status = responseStatusCode(error);
      measured = { ...attributes, [ATTR.errorType]: errorType(error), ...(status === undefined ? {} : { [ATTR.dbResponseStatusCode]: status }) };
      span.setAttributes(measured);
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    } else if (READS.has(message.operation)) {
      this.#countLookups(message);
    }
    this.#duration.record((performance.now() - startedAt) / 1000, measured);
    span.end();
  }
  #countLookups(message: OperationMessage): void {
    const results = Array.isArray(message.result) ? (message.result as unknown[]) : [message.result];
    const counts: Record<LookupResult, number> = { hit: 0, miss: 0, stale: 0 };
    for (const value of results) counts[lookupOf(value)]++;
    for (const result of ['hit', 'miss', 'stale'] as const) {
      if (counts[result] > 0) this.#lookups.add(counts[result], lookupAttributes(message.backend, message.operation, result));
    }
  }
}
