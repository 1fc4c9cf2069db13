/**
 * One process of a stampede (src/stampede.ts): connects one contender, then on each `go` of the parent starts
 * all its callers at once on one cold key, at the moment the parent named (the same for every process), and
 * reports how many times its factory ran and how long each caller waited.
 */
import { createStampedeContender } from './contenders.js';
import type { StampedeChildMessage, StampedeChildRequest, StampedeParentMessage } from './stampede.js';

const request = JSON.parse(process.argv[2]!) as StampedeChildRequest;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(message: StampedeChildMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())));
}

async function round(impl: Awaited<ReturnType<typeof createStampedeContender>>, message: Extract<StampedeParentMessage, { type: 'go' }>): Promise<void> {
  const { prefix, index } = message;
  // The factory stands for a data source: it takes factoryMs, and its value names the process that ran it.
  let factoryCalls = 0;
  const expected = `v:${prefix}:${index}:`;
  const factory = async (): Promise<string> => {
    factoryCalls++;
    await sleep(request.factoryMs);
    return `${expected}p${request.processIndex}:${factoryCalls}`;
  };
  const wait = message.at - Date.now();
  if (wait > 0) await sleep(wait);
  const lateMs = Date.now() - message.at;
  const calls: Promise<{ us: number; value?: string; error?: string }>[] = [];
  for (let i = 0; i < request.callers; i++) {
    const t0 = performance.now();
    calls.push(
      impl.getOrSet(prefix, index, factory).then(
        (value) => ({ us: Math.round((performance.now() - t0) * 1000), value }),
        (error: unknown) => ({ us: Math.round((performance.now() - t0) * 1000), error: String((error as Error)?.message ?? error) }),
      ),
    );
  }
  const outcomes = await Promise.all(calls);
  const values = new Set<string>();
  let errors = 0;
  let mismatches = 0;
  let firstError: string | undefined;
  for (const o of outcomes) {
    if (o.error !== undefined) {
      errors++;
      firstError ??= o.error;
    } else if (typeof o.value !== 'string' || !o.value.startsWith(expected)) mismatches++;
    else values.add(o.value);
  }
  await send({
    type: 'round',
    round: message.round,
    factoryCalls,
    latenciesUs: outcomes.map((o) => o.us),
    values: [...values],
    errors,
    mismatches,
    lateMs,
    ...(firstError ? { firstError } : {}),
  });
}

async function main(): Promise<void> {
  const impl = await createStampedeContender(request.contender, { topology: 'single', nodes: request.nodes, options: {} }, request.ttlMs);
  let queue = Promise.resolve();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.on('message', (message: StampedeParentMessage) => {
    if (message.type === 'go') queue = queue.then(() => round(impl, message));
    else if (message.type === 'stop') void queue.then(stop);
  });
  await send({ type: 'ready' });
  await stopped;
  await impl.close().catch(() => undefined);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`[stampede child ${request.contender} #${request.processIndex}]`, error);
    process.exit(1);
  },
);
