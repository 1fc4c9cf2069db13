/**
 * Runs every `*.test.ts` file below `test/` in a process of its own (a crash or a leaked handle in one file cannot
 * hide the others), adds up uvu's per-file summaries and ends with the line CI counts:
 * `N passed, M failed`. A file that dies before printing its summary counts as one failure.
 *
 * A file whose first line is `// @drivers ioredis node-redis` runs once per driver listed, with
 * `TEST_DRIVER` set for it (test/helpers/driver.ts reads it) and the driver in its header. Setting
 * `TEST_DRIVER` yourself runs such files on that driver only.
 *
 * The Keyv peers' own suite runs under vitest (vitest.config.ts: the `.vitest.ts` files of test/keyv, one
 * per driver, named `...-<driver>.vitest.ts`): one vitest process for the files the filters and
 * `TEST_DRIVER` select, its counts read from its JSON report and added to the total; a vitest run without
 * a report, or failing with no failed test, counts as one failure.
 *
 * Files run `TEST_JOBS` at a time (default 2): most of a file's time is spent waiting on its servers, its
 * timers and TTLs, not on a core. Each file's output is held and printed whole, in file order, so that the
 * log reads as a serial run would.
 *
 * Usage: `npm test`, or `npm test -- conformance` to run only files whose path contains "conformance";
 * `TEST_DRIVER=node-redis npm test -- conformance` for one driver; `TEST_JOBS=1 npm test` one file at a time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const selected = (path: string): boolean => filters.length === 0 || filters.some((f) => path.includes(f));
const allFiles = readdirSync(testDir, { recursive: true, encoding: 'utf8' }).sort();
// Every *.test.ts below test/, by its path from there (`faults/network.test.ts`): filters match folders too.
const files = allFiles.filter((path) => path.endsWith('.test.ts') && selected(path));
// The vitest files, of the driver in TEST_DRIVER only when it is set.
const vitestFiles = allFiles.filter(
  (path) => path.endsWith('.vitest.ts') && selected(path) && (process.env.TEST_DRIVER === undefined || path.endsWith(`-${process.env.TEST_DRIVER}.vitest.ts`)),
);

const FILE_TIMEOUT_MS = 180_000;
const JOBS = Number(process.env.TEST_JOBS ?? 2);
if (!Number.isInteger(JOBS) || JOBS < 1) throw new Error(`TEST_JOBS must be a whole number of at least 1, got ${process.env.TEST_JOBS}`);
/** A file whose tests are done but whose process does not exit leaked a handle (a server, a socket, a timer). */
const EXIT_GRACE_MS = 10_000;

interface FileResult {
  passed: number;
  failed: number;
  crashed: boolean;
  /** What the file printed (stdout and stderr, in the order they came) and what the runner said of it. */
  output: string;
}

/** The drivers `file` runs on: those of its `// @drivers` first line (or `TEST_DRIVER`, if set, among them), else one run as is. */
function driversOf(file: string): Array<string | undefined> {
  const listed = /^\/\/ @drivers ((?:[\w-]+ ?)+)$/m.exec(readFileSync(join(testDir, file), 'utf8').split('\n', 1)[0] ?? '')?.[1]?.trim().split(' ');
  if (listed === undefined) return [undefined];
  const chosen = process.env.TEST_DRIVER;
  return chosen === undefined ? listed : listed.filter((driver) => driver === chosen);
}

function runFile(file: string, driver: string | undefined): Promise<FileResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(testDir, file)], {
      // `--import tsx` resolves from the working directory: the project's, wherever npm test was started.
      cwd: join(testDir, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0', ...(driver === undefined ? {} : { TEST_DRIVER: driver }) },
    });
    let output = '';
    let lingering: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (lingering === undefined && /Duration:/.test(output)) {
        lingering = setTimeout(() => {
          output += `\n${file}: tests done but the process did not exit within ${EXIT_GRACE_MS / 1000} s (a leaked handle), killed\n`;
          child.kill('SIGKILL');
        }, EXIT_GRACE_MS);
      }
    });
    const timer = setTimeout(() => {
      output += `\n${file}: still running after ${FILE_TIMEOUT_MS / 1000} s, killed\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0);
      const summarized = /Total:\s+\d+/.test(output);
      const failed = total - passed - skipped;
      // A kill after a clean summary (a leaked handle) also counts: the file did not finish cleanly.
      const crashed = !summarized || (code !== 0 && failed === 0);
      resolve({ passed, failed: failed + (crashed ? 1 : 0), crashed, output });
    });
  });
}

/** Runs `paths` (from test/) in one vitest process; its counts come from its JSON report. */
function runVitest(paths: string[]): Promise<FileResult> {
  const reportDir = mkdtempSync(join(tmpdir(), 'vitest-report-'));
  const report = join(reportDir, 'report.json');
  const root = join(testDir, '..');
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...paths.map((path) => join('test', path))],
      { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } },
    );
    const timer = setTimeout(() => {
      console.log(`\nvitest: still running after ${FILE_TIMEOUT_MS / 1000} s, killed`);
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      let counts: { numPassedTests: number; numFailedTests: number } | undefined;
      try {
        counts = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number };
      } catch {
        counts = undefined;
      }
      rmSync(reportDir, { recursive: true, force: true });
      const passed = counts?.numPassedTests ?? 0;
      const failed = counts?.numFailedTests ?? 0;
      // No report, or a failing exit with no failed test (a suite that crashed while loading, an unhandled error).
      const crashed = counts === undefined || (code !== 0 && failed === 0);
      resolve({ passed, failed: failed + (crashed ? 1 : 0), crashed, output: '' });
    });
  });
}

/** Runs every task, `jobs` at a time, in order; each result's promise settles as soon as its task is done. */
function pool<T>(tasks: Array<() => Promise<T>>, jobs: number): Promise<T>[] {
  const settle: Array<(result: T) => void> = [];
  const results = tasks.map(() => new Promise<T>((resolve) => settle.push(resolve)));
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      settle[index]!(await tasks[index]!());
    }
  };
  for (let job = 0; job < Math.min(jobs, tasks.length); job++) void work();
  return results;
}

let passed = 0;
let failed = 0;
if (vitestFiles.length > 0) {
  console.log(`\n# vitest: ${vitestFiles.join(', ')}`);
  const result = await runVitest(vitestFiles);
  if (result.crashed) console.log('vitest: exited without a clean report (counted as a failure)');
  passed += result.passed;
  failed += result.failed;
}
const runs = files.flatMap((file) => driversOf(file).map((driver) => ({ file, driver, name: driver === undefined ? file : `${file} [${driver}]` })));
const results = pool(
  runs.map((run) => () => runFile(run.file, run.driver)),
  JOBS,
);
for (let index = 0; index < runs.length; index++) {
  const { name } = runs[index]!;
  const result = await results[index]!;
  process.stdout.write(`\n# ${name}\n${result.output}`);
  if (result.crashed) console.log(`${name}: exited without a clean uvu summary (counted as a failure)`);
  passed += result.passed;
  failed += result.failed;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && files.length + vitestFiles.length > 0 ? 0 : 1;
