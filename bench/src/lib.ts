/**
 * Where the library under test is imported from. When it starts, the harness (src/main.ts) copies `src/`,
 * `generated/`, `lua/`, `package.json` and the tsconfigs of the working tree into bench/.snapshot/ (with a
 * node_modules link to the root's, so the copy resolves its dependencies exactly as the library does) and
 * builds the copy once with the project's own `tsc -p tsconfig.build.json`, into bench/.snapshot/dist/. Every
 * child then imports that build (`dist/src/index.js`, `dist/generated/index.js`): plain compiled JavaScript,
 * as the package ships and as the peers run from node_modules, and one version of the library for the whole
 * run even while the sources are being edited. Only the harness itself runs through tsx (tsx hands .js
 * files to Node untransformed, apart from a wrapper on dynamic `import()` calls, as it does for the peers).
 *
 * Without BENCH_LIB (a child started by hand), the working tree's TypeScript sources through tsx: esbuild's
 * keepNames then adds a `__name()` call for every named function and closure created at run time, so such a
 * child does not measure the library as it ships.
 *
 * The types are the sources' either way (the build is of the same files).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The file of the library to import: `<dir>/index.js` of the snapshot's build, else `<dir>/index.ts` of the working tree. */
function entry(dir: 'src' | 'generated' | 'src/adapters/keyv'): string {
  const built = process.env.BENCH_LIB;
  return pathToFileURL(built ? join(built, 'dist', dir, 'index.js') : join(ROOT, dir, 'index.ts')).href;
}

export function importLib(): Promise<typeof import('../../src/index.js')> {
  return import(entry('src'));
}

export function importScripts(): Promise<typeof import('../../generated/index.js')> {
  return import(entry('generated'));
}

export function importKeyvAdapter(): Promise<typeof import('../../src/adapters/keyv/index.js')> {
  return import(entry('src/adapters/keyv'));
}
