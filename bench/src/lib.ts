/**
 * Where the library under test is imported from. The harness copies `src/` and `generated/` of the working
 * tree into bench/.snapshot/ when it starts (with a node_modules link to the root's, so the copy resolves its
 * dependencies exactly as the library does) and every child imports that copy: a run measures one version
 * of the library even while the sources are being edited. Without BENCH_LIB (a child started by hand), the
 * sources themselves.
 */
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function libRoot(): string {
  return process.env.BENCH_LIB ?? ROOT;
}

export function importLib(): Promise<typeof import('../../src/index.js')> {
  return import(pathToFileURL(join(libRoot(), 'src', 'index.ts')).href);
}

export function importScripts(): Promise<typeof import('../../generated/index.js')> {
  return import(pathToFileURL(join(libRoot(), 'generated', 'index.ts')).href);
}
