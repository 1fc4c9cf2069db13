import { SpanKind, SpanStatusCode, context, type Attributes, type Counter, type Histogram, type Span, type Tracer } from '@opentelemetry/api';

import type { CacheValue } from '../../core/cache-value.js';
import type { LookupResult, OperationMessage } from '../../core/diagnostics.js';
import { lookupAttributes, operationAttributes } from './attributes.js';
import { errorMessage, errorType, responseStatusCode } from './errors.js';
import { ATTR } from './names.js';

interface Running {
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
 * Turns the operation tracing channel's events into a CLIENT span per operation, a
 * `db.client.operation.duration` measurement, and, for reads, lookup counts.
 */
export class OperationRecorder {
  readonly #tracer: Tracer;
  readonly #duration: Histogram;
  readonly #lookups: Counter;
  readonly #running = new WeakMap<OperationMessage, Running>();

  constructor(tracer: Tracer, duration: Histogram, lookups: Counter) {
    this.#tracer = tracer;
    this.#duration = duration;
    this.#lookups = lookups;
  }

  start(message: OperationMessage): void {
    const { spanName, attributes } = operationAttributes(message.backend, message.operation, message.script);
    const batched = message.batchSize !== undefined && message.batchSize > 1 ? { ...attributes, [ATTR.dbOperationBatchSize]: message.batchSize } : attributes;
    // Started in the caller's context: the span is a child of whatever span is active there.
    const span = this.#tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes: batched }, context.active());
    this.#running.set(message, { span, startedAt: performance.now(), attributes });
  }

  /** The synchronous end of the call: the operation is over only if it threw before returning its promise. */
  end(message: OperationMessage): void {
    if ('error' in message) this.asyncEnd(message);
  }

  asyncEnd(message: OperationMessage): void {
    const running = this.#running.get(message);
    if (running === undefined) return;
    this.#running.delete(message);
    const { span, attributes } = running;
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
    this.#duration.record((performance.now() - running.startedAt) / 1000, measured);
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
