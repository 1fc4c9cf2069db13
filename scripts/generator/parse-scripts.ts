/**
 * Parses and validates the `lua/*.lua` scripts, producing the models that `emit.ts` turns into typed
 * TypeScript wrappers: each script's shebang and header, its body and the includes it names checked
 * against the header, then the scripts' generated names against each other.
 *
 * Every function of the generator's parsing is pure (text in, model and diagnostics out), so tests can
 * run them on strings.
 *
 * An include is plain Lua shared by scripts (Redis has no `require`), typically `local function`s; it is
 * checked by the body rules as part of each script that includes it, and reported at its own lines.
 *
 * @module
 */
import { exportNames, findExportClashes } from './export-names.js';
import { headerIncludes, parseHeader } from './header.js';
import { checkBody, type CodePart } from './keys-argv.js';
import {
  formatDiagnostic,
  PROJECT_LAYOUT,
  type Diagnostic,
  type Layout,
  type LuaSource,
  type ParseResult,
  type ScriptModel,
} from './model.js';
import { parseShebang } from './shebang.js';

/**
 * Parses and validates each script, then checks that their generated exports do not clash (they all
 * meet in `generated/index.ts`). Returns the models of the valid scripts and every diagnostic; `layout`
 * names the folders in messages.
 */
export function parseScripts(
  sources: readonly LuaSource[],
  includes: readonly LuaSource[] = [],
  layout: Layout = PROJECT_LAYOUT,
): {
  scripts: ScriptModel[];
  diagnostics: Diagnostic[];
} {
  const library = new Map(includes.map((include) => [baseName(include.path), include]));
  const scripts: ScriptModel[] = [];
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  const included = new Set<string>();
  for (const source of sources) {
    const result = parseScript(source, library, layout);
    if (result.script) scripts.push(result.script);
    for (const diagnostic of result.diagnostics) {
      // A faulty include is checked with every script that includes it: report each problem once, for
      // the first of them.
      const id = formatDiagnostic(diagnostic).replace(/ \(included by [^)]*\)$/, '');
      if (!reported.has(id)) diagnostics.push(diagnostic);
      reported.add(id);
    }
    for (const name of headerIncludes(source.text)) included.add(name);
  }
  for (const [name, include] of library) {
    for (const match of include.text.matchAll(/^---@\S*/gm)) {
      const line = include.text.slice(0, match.index).split('\n').length;
      diagnostics.push({ file: include.path, line, message: `${match[0]} has no effect in an include: tags belong in the header of a ${layout.luaDirectory}/*.lua script` });
    }
    if (!included.has(name)) diagnostics.push({ file: include.path, line: 1, message: 'no script includes this file: remove it or add `---@include ' + name + '` to a script' });
  }
  diagnostics.push(...findExportClashes(scripts, `${layout.outDirectory}/index.ts`));
  return { scripts, diagnostics };
}

/**
 * Parses and validates one script: its shebang, its header, and the header against the body and the
 * includes it names, found in `library` by name.
 */
export function parseScript(
  source: LuaSource,
  library: ReadonlyMap<string, LuaSource> = new Map(),
  layout: Layout = PROJECT_LAYOUT,
): ParseResult {
  const lines = source.text.split('\n').map((line) => line.replace(/\r$/, ''));
  const diagnostics: Diagnostic[] = [];
  const report = (line: number, message: string) => diagnostics.push({ file: source.path, line, message });

  const flags = parseShebang(lines[0] ?? '', report);
  // Without a shebang the header is read from line 1, so that the one mistake is reported once.
  const headerStart = lines[0]?.startsWith('#!') ? 1 : 0;
  let headerEnd = headerStart;
  while (headerEnd < lines.length && lines[headerEnd]!.startsWith('---')) headerEnd++;
  const includeDirectory = `${layout.luaDirectory}/include`;
  const header = parseHeader(lines.slice(headerStart, headerEnd), headerStart + 1, baseName(source.path), report, includeDirectory);
  const includes: LuaSource[] = [];
  for (const { name, line } of header.includes) {
    const include = library.get(name);
    if (include) includes.push(include);
    else report(line, `unknown include ${name}: there is no ${includeDirectory}/${name}.lua`);
  }
  const parts: CodePart[] = includes.map((include) => ({
    text: include.text,
    firstLine: 1,
    report: (line, message) => diagnostics.push({ file: include.path, line, message: `${message} (included by ${source.path})` }),
    include: true,
  }));
  parts.push({ text: lines.slice(headerEnd).join('\n'), firstLine: headerEnd + 1, report });
  checkBody(parts, header, report);

  if (diagnostics.length > 0 || !flags || !header.script || !header.returnType) {
    return { script: undefined, diagnostics: diagnostics.sort((a, b) => a.line - b.line) };
  }
  return {
    script: {
      name: header.script.name,
      path: source.path,
      source: inlineIncludes(source.text, headerEnd, includes),
      includes: includes.map((include) => include.path),
      description: header.description,
      flags,
      readOnly: flags.includes('no-writes'),
      keys: header.keys,
      args: header.args,
      returnType: header.returnType.text,
      replyDecoding: header.returnType.decoding,
      scriptLine: header.script.line,
      ...exportNames(header.script.name),
    },
    diagnostics: [],
  };
}

/** The script's text with the includes' texts inserted after its first `headerEnd` lines; unchanged without includes. */
function inlineIncludes(text: string, headerEnd: number, includes: readonly LuaSource[]): string {
  if (includes.length === 0) return text;
  let offset = 0;
  for (let line = 0; line < headerEnd; line++) {
    const newline = text.indexOf('\n', offset);
    // A header that ends the file without a newline: the includes go after it, on a line of their own.
    if (newline === -1) return `${text}\n${inlineIncludes('', 0, includes)}`;
    offset = newline + 1;
  }
  // A plain comment line first ends the header's run of `---` lines and names where the code comes from.
  const inlined = includes.map((include) => `-- ${include.path}\n${include.text.endsWith('\n') ? include.text : `${include.text}\n`}`).join('');
  return text.slice(0, offset) + inlined + text.slice(offset);
}

function baseName(path: string): string {
  return path.replace(/^.*[\\/]/, '').replace(/\.lua$/, '');
}
