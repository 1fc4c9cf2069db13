/**
 * Parses and validates the header of a `lua/*.lua` script against the script's body, producing the
 * model that `emit-wrappers.ts` turns into a typed TypeScript wrapper.
 *
 * Every function here is pure (text in, model and diagnostics out), so tests can run them on strings.
 *
 * Header grammar (line 1, then the run of lines starting with `---` right after it):
 * ```
 * #!lua flags=no-writes                       line 1, required; flags= is optional
 * --- Free description text, one or more lines (required, before the first tag)
 * ---@script <name>                           required, once; the file's base name
 * ---@key <name> <description>                the n-th @key is KEYS[n]
 * ---@arg <name>[?] <type> <description>      the n-th @arg is ARGV[n]; `?` = optional
 * ---@include <name>                          inlines lua/include/<name>.lua after the header
 * ---@return <TypeScript type>                required, once; the rest of the line
 * ```
 *
 * An include is plain Lua shared by scripts (Redis has no `require`), typically `local function`s; it is
 * checked by the body rules below as part of each script that includes it, and reported at its own lines.
 *
 * Body rules (comments and strings aside): KEYS and ARGV are read only as `KEYS[n]`/`ARGV[n]`, each
 * declared and each declaration read; every `redis.call`/`redis.pcall` names a known command with a
 * string literal and passes `KEYS[n]` in each of its key positions (see `KEY_POSITION_TABLE`).
 *
 * @module
 */
import { Node, Project, SyntaxKind, ts, type TypeNode } from 'ts-morph';

/** One problem found in a script, located by the path printed for it and a 1-based line. */
export interface Diagnostic {
  /** Path of the script as printed, e.g. `lua/read.lua`. */
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** A script or include file to parse: the path to print for it and its exact text. */
export interface LuaSource {
  /** Path as printed in diagnostics and in the generated banner, e.g. `lua/read.lua`. */
  readonly path: string;
  readonly text: string;
}

/** A type an `@arg` may declare. */
export type ArgType = (typeof ARG_TYPES)[number];

/** A `---@key` tag: the n-th one is `KEYS[n]`. */
export interface KeyDeclaration {
  readonly name: string;
  readonly description: string;
  /** Line of the tag. */
  readonly line: number;
}

/** A `---@arg` tag: the n-th one is `ARGV[n]`. */
export interface ArgDeclaration {
  readonly name: string;
  /** Declared with `name?`: typed `T | null` and sent as `''` when null. */
  readonly optional: boolean;
  /** Members of the declared union, as written (deduplicated). */
  readonly types: readonly ArgType[];
  /** TypeScript type of the wrapper's parameter, `| null` included when optional. */
  readonly tsType: string;
  readonly description: string;
  /** Line of the tag. */
  readonly line: number;
}

/** Everything the emitter needs to know about one valid script. */
export interface ScriptModel {
  /** Script name: the file's base name, snake_case. */
  readonly name: string;
  /** Path of the script as printed, e.g. `lua/read.lua`. */
  readonly path: string;
  /** The text sent to Redis: the file's exact text, with its includes inlined after the header. */
  readonly source: string;
  /** Paths of the included files, in the order inlined. */
  readonly includes: readonly string[];
  /** Description lines of the header, without the `---` prefix. */
  readonly description: readonly string[];
  /** Shebang flags, in the order written. */
  readonly flags: readonly string[];
  /** The script declares `no-writes`, so it may run on replicas. */
  readonly readOnly: boolean;
  readonly keys: readonly KeyDeclaration[];
  readonly args: readonly ArgDeclaration[];
  /** The `@return` type as TypeScript text, normalized by the TypeScript parser. */
  readonly returnType: string;
  /** Line of the `@script` tag. */
  readonly scriptLine: number;
  /** Name of the wrapper function, e.g. `removeMany`. */
  readonly functionName: string;
  /** Name of the exported ScriptDefinition, e.g. `removeManyScript`. */
  readonly definitionName: string;
  /** Name of the reply type, e.g. `RemoveManyReply`. */
  readonly replyTypeName: string;
}

/** Result of parsing one script: a model only when there is no diagnostic. */
export type ParseResult =
  | { readonly script: ScriptModel; readonly diagnostics: readonly [] }
  | { readonly script: undefined; readonly diagnostics: readonly Diagnostic[] };

const ARG_TYPES = ['string', 'number', 'integer', 'Buffer'] as const;

/** TypeScript spelling of each @arg type: `integer` only documents that the number must be integral. */
const TS_ARG_TYPES: Record<ArgType, string> = {
  string: 'string',
  number: 'number',
  integer: 'number',
  Buffer: 'Buffer',
};

const ALLOWED_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster']);

const SCRIPT_NAME = /^[a-z][a-z0-9_]*$/;
const PARAMETER_NAME = /^[a-z][a-zA-Z0-9]*$/;

/** Words that cannot name a parameter or a function in an ES module, which is strict-mode code. */
const RESERVED_WORDS = new Set([
  ...['break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else'],
  ...['enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof'],
  ...['new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void'],
  ...['while', 'with', 'implements', 'interface', 'let', 'package', 'private', 'protected', 'public'],
  ...['static', 'yield', 'await', 'arguments', 'eval'],
]);

/** The wrapper's first parameter: a key or argument of that name would clash with it. */
const RUNNER_PARAMETER = 'runner';

/** Name exported by `generated/index.ts` besides the scripts' own exports. */
export const ALL_SCRIPTS_NAME = 'allScripts';

/** Formats a diagnostic the way the generator prints it: `lua/read.lua:3: message`. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  return `${diagnostic.file}:${diagnostic.line}: ${diagnostic.message}`;
}

/** `remove_many` -> `removeMany`. */
function camelCase(snakeName: string): string {
  return snakeName.replace(/_+([a-z0-9]?)/g, (_, next: string) => next.toUpperCase());
}

/**
 * Parses and validates each script, then checks that their generated exports do not clash (they all
 * meet in `generated/index.ts`). Returns the models of the valid scripts and every diagnostic.
 */
export function parseScripts(
  sources: readonly LuaSource[],
  includes: readonly LuaSource[] = [],
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
    const result = parseScript(source, library);
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
      diagnostics.push({ file: include.path, line, message: `${match[0]} has no effect in an include: tags belong in the header of a lua/*.lua script` });
    }
    if (!included.has(name)) diagnostics.push({ file: include.path, line: 1, message: 'no script includes this file: remove it or add `---@include ' + name + '` to a script' });
  }
  diagnostics.push(...findExportClashes(scripts));
  return { scripts, diagnostics };
}

/**
 * Parses and validates one script: its shebang, its header, and the header against the body and the
 * includes it names, found in `library` by name.
 */
export function parseScript(source: LuaSource, library: ReadonlyMap<string, LuaSource> = new Map()): ParseResult {
  const lines = source.text.split('\n').map((line) => line.replace(/\r$/, ''));
  const diagnostics: Diagnostic[] = [];
  const report = (line: number, message: string) => diagnostics.push({ file: source.path, line, message });

  const flags = parseShebang(lines[0] ?? '', report);
  // Without a shebang the header is read from line 1, so that the one mistake is reported once.
  const headerStart = lines[0]?.startsWith('#!') ? 1 : 0;
  let headerEnd = headerStart;
  while (headerEnd < lines.length && lines[headerEnd]!.startsWith('---')) headerEnd++;
  const header = parseHeader(lines.slice(headerStart, headerEnd), headerStart + 1, baseName(source.path), report);
  const includes: LuaSource[] = [];
  for (const { name, line } of header.includes) {
    const include = library.get(name);
    if (include) includes.push(include);
    else report(line, `unknown include ${name}: there is no lua/include/${name}.lua`);
  }
  const parts: CodePart[] = includes.map((include) => ({
    text: include.text,
    firstLine: 1,
    report: (line, message) => diagnostics.push({ file: include.path, line, message: `${message} (included by ${source.path})` }),
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
      scriptLine: header.script.line,
      ...exportNames(header.script.name),
    },
    diagnostics: [],
  };
}

type Report = (line: number, message: string) => void;

/** The names of the `---@include` tags in the header of `text` (the `---` lines after line 1). */
function headerIncludes(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line.startsWith('---')) break;
    const tag = /^---@include\s+(\S+)/.exec(line);
    if (tag) names.push(tag[1]!);
  }
  return names;
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

/** The names a script's generated module exports. */
function exportNames(scriptName: string): { functionName: string; definitionName: string; replyTypeName: string } {
  const functionName = camelCase(scriptName);
  const pascalName = functionName.charAt(0).toUpperCase() + functionName.slice(1);
  return { functionName, definitionName: `${functionName}Script`, replyTypeName: `${pascalName}Reply` };
}

function baseName(path: string): string {
  return path.replace(/^.*[\\/]/, '').replace(/\.lua$/, '');
}

// ---------------------------------------------------------------------------------------------------
// Shebang

/** Validates line 1 and returns its flags, or undefined when it is not a usable shebang. */
function parseShebang(line: string, report: Report): string[] | undefined {
  if (!line.startsWith('#!')) {
    report(
      1,
      'missing shebang: line 1 must be `#!lua` or `#!lua flags=<flag>,...`; ' +
        "with it, Redis 7 checks the script's flags and out-of-memory before the script starts",
    );
    return undefined;
  }
  const match = /^#!lua(?:[ \t]+flags=(\S*))?[ \t]*$/.exec(line);
  if (!match) {
    report(1, 'malformed shebang: expected `#!lua` or `#!lua flags=<flag>,...`');
    return undefined;
  }
  const flags = match[1] ? match[1].split(',') : [];
  let valid = true;
  for (const flag of flags) {
    const problem = flagProblem(flag);
    if (problem) {
      report(1, problem);
      valid = false;
    }
  }
  return valid ? flags : undefined;
}

function flagProblem(flag: string): string | undefined {
  if (ALLOWED_FLAGS.has(flag)) return undefined;
  if (flag === 'allow-cross-slot-keys') {
    return (
      'flag allow-cross-slot-keys is not allowed: ' +
      'a script that accesses keys of several hash slots cannot run in Redis Cluster'
    );
  }
  return `unknown shebang flag '${flag}': allowed are ${[...ALLOWED_FLAGS].join(', ')}`;
}

// ---------------------------------------------------------------------------------------------------
// Header

/** The header as parsed so far. */
interface Header {
  description: string[];
  script?: { name: string; line: number };
  returnType?: { text: string; line: number };
  /** Valid `@key` tags; complete only when no diagnostic was reported. */
  keys: KeyDeclaration[];
  args: ArgDeclaration[];
  /**
   * Every `@key`/`@arg` tag, valid or not, with its name when that is valid: the n-th tag is KEYS[n]
   * or ARGV[n] even when it is malformed, so one bad tag does not shift the checks of the others.
   */
  keySlots: TagSlot[];
  argSlots: TagSlot[];
  /** Every valid key and argument name with the line declaring it, to find duplicates. */
  names: Map<string, number>;
  /** `@include` tags with a valid name, in order. */
  includes: { name: string; line: number }[];
}

interface TagSlot {
  line: number;
  name?: string;
}

/** Parses the `---` lines following the shebang; `firstLine` is the line number of the first one. */
function parseHeader(headerLines: readonly string[], firstLine: number, fileBaseName: string, report: Report): Header {
  const header: Header = { description: [], keys: [], args: [], keySlots: [], argSlots: [], names: new Map(), includes: [] };
  let tagSeen = false;
  headerLines.forEach((text, index) => {
    const line = firstLine + index;
    const tag = /^---@(\S*)\s*(.*)$/.exec(text);
    if (tag) {
      tagSeen = true;
      parseTag(tag[1]!, tag[2]!.trim(), line, fileBaseName, header, report);
      return;
    }
    const content = text.slice(3).replace(/^ /, '').trimEnd();
    if (!tagSeen) header.description.push(content);
    else if (content.trim() !== '') report(line, 'description text must come before the first tag');
  });

  header.description = trimBlankLines(header.description);
  const lastLine = firstLine + Math.max(headerLines.length - 1, 0);
  if (header.description.length === 0) {
    report(firstLine, 'missing description: start the header with `--- <what the script does>`, before the tags');
  }
  if (!header.script) report(lastLine, `missing @script tag: add \`---@script ${fileBaseName}\``);
  if (!header.returnType) report(lastLine, 'missing @return tag: add `---@return <TypeScript type of the reply>`');
  checkDefinitionNameClash(header, report);
  return header;
}

/** A parameter named like the script definition would hide it from the wrapper's body. */
function checkDefinitionNameClash(header: Header, report: Report): void {
  if (!header.script) return;
  const definitionName = exportNames(header.script.name).definitionName;
  const line = header.names.get(definitionName);
  if (line !== undefined) {
    report(line, `name '${definitionName}' would hide the script definition of the same name inside the wrapper`);
  }
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start] === '') start++;
  while (end > start && lines[end - 1] === '') end--;
  return lines.slice(start, end);
}

function parseTag(tag: string, rest: string, line: number, fileBaseName: string, header: Header, report: Report): void {
  switch (tag) {
    case 'script':
      return parseScriptTag(rest, line, fileBaseName, header, report);
    case 'key':
      return parseKeyTag(rest, line, header, report);
    case 'arg':
      return parseArgTag(rest, line, header, report);
    case 'include':
      return parseIncludeTag(rest, line, header, report);
    case 'return':
      return parseReturnTag(rest, line, header, report);
    default:
      report(line, `unknown tag @${tag}: expected @script, @key, @arg, @include or @return`);
  }
}

function parseIncludeTag(rest: string, line: number, header: Header, report: Report): void {
  if (!SCRIPT_NAME.test(rest)) {
    report(line, `invalid @include ${JSON.stringify(rest)}: expected the base name of a file in lua/include/, like \`entry_state\``);
    return;
  }
  const earlier = header.includes.find((include) => include.name === rest);
  if (earlier) {
    report(line, `duplicate @include ${rest}: already included on line ${earlier.line}`);
    return;
  }
  header.includes.push({ name: rest, line });
}

function parseScriptTag(rest: string, line: number, fileBaseName: string, header: Header, report: Report): void {
  if (header.script) {
    report(line, `duplicate @script tag: already given on line ${header.script.line}`);
    return;
  }
  header.script = { name: rest, line };
  if (!/^\S+$/.test(rest)) {
    report(line, '@script takes exactly one name: `---@script <name>`');
  } else if (!SCRIPT_NAME.test(rest)) {
    report(line, `script name '${rest}' must be snake_case (${SCRIPT_NAME.source})`);
  } else if (rest !== fileBaseName) {
    report(line, `@script name '${rest}' does not match the file name: expected '${fileBaseName}'`);
  } else if (RESERVED_WORDS.has(camelCase(rest))) {
    report(line, `script name '${rest}' makes the function name '${camelCase(rest)}', a reserved word`);
  }
}

function parseKeyTag(rest: string, line: number, header: Header, report: Report): void {
  const slot: TagSlot = { line };
  header.keySlots.push(slot);
  const match = /^(\S+)(?:\s+(.*))?$/.exec(rest);
  if (!match) {
    report(line, '@key needs a name and a description: `---@key <name> <description>`');
    return;
  }
  const [, name = '', description = ''] = match;
  const nameValid = checkParameterName(name, line, header, report);
  if (nameValid) slot.name = name;
  if (description === '') report(line, `@key ${name} needs a description`);
  else if (nameValid) header.keys.push({ name, description, line });
}

function parseArgTag(rest: string, line: number, header: Header, report: Report): void {
  const slot: TagSlot = { line };
  header.argSlots.push(slot);
  const words = [...rest.matchAll(/\S+/g)];
  const nameWord = words[0]?.[0];
  if (nameWord === undefined || words.length < 2) {
    report(line, '@arg needs a name, a type and a description: `---@arg <name>[?] <type> <description>`');
    return;
  }
  const optional = nameWord.endsWith('?');
  const name = optional ? nameWord.slice(0, -1) : nameWord;
  const nameValid = checkParameterName(name, line, header, report);
  if (nameValid) slot.name = name;

  // The type is a `|`-union that may contain spaces: it goes on while a word ends or starts with `|`.
  let typeEnd = 2;
  while (typeEnd < words.length && (words[typeEnd - 1]![0].endsWith('|') || words[typeEnd]![0].startsWith('|'))) {
    typeEnd++;
  }
  const typeText = words.slice(1, typeEnd).map((word) => word[0]).join(' ');
  const types = parseArgType(typeText, line, report);
  const descriptionStart = words[typeEnd]?.index;
  const description = descriptionStart === undefined ? '' : rest.slice(descriptionStart);
  if (description === '') report(line, `@arg ${name} needs a description`);
  else if (nameValid && types) {
    header.args.push({ name, optional, types, tsType: argTsType(types, optional), description, line });
  }
}

function argTsType(types: readonly ArgType[], optional: boolean): string {
  const tsType = [...new Set(types.map((type) => TS_ARG_TYPES[type]))].join(' | ');
  return optional ? `${tsType} | null` : tsType;
}

/** Splits an @arg type union and checks each member; undefined when one is not allowed. */
function parseArgType(typeText: string, line: number, report: Report): ArgType[] | undefined {
  const members = typeText.split('|').map((member) => member.trim());
  let valid = true;
  for (const member of members) {
    if (!(ARG_TYPES as readonly string[]).includes(member)) {
      const hint = member === 'null' || member === 'undefined' ? ' (mark an optional argument with `name?`)' : '';
      report(line, `unknown @arg type '${member}' in '${typeText}': allowed are ${ARG_TYPES.join(', ')}${hint}`);
      valid = false;
    }
  }
  return valid ? [...new Set(members as ArgType[])] : undefined;
}

/** Checks a key or argument name; returns whether it can name a parameter of the wrapper. */
function checkParameterName(name: string, line: number, header: Header, report: Report): boolean {
  let problem: string | undefined;
  const previousLine = header.names.get(name);
  if (!PARAMETER_NAME.test(name)) problem = `name '${name}' must be camelCase (${PARAMETER_NAME.source})`;
  else if (RESERVED_WORDS.has(name)) problem = `name '${name}' is a reserved word in JavaScript`;
  else if (name === RUNNER_PARAMETER) problem = `name '${name}' is taken by the wrapper's first parameter`;
  else if (previousLine !== undefined) problem = `duplicate name '${name}': already declared on line ${previousLine}`;
  if (problem) report(line, problem);
  else header.names.set(name, line);
  return problem === undefined;
}

function parseReturnTag(rest: string, line: number, header: Header, report: Report): void {
  if (header.returnType) {
    report(line, `duplicate @return tag: already given on line ${header.returnType.line}`);
    return;
  }
  if (rest === '') {
    report(line, '@return needs a TypeScript type: `---@return <type>`');
    header.returnType = { text: '', line };
    return;
  }
  const result = checkReturnType(rest);
  for (const problem of result.problems) report(line, problem);
  header.returnType = { text: result.type ?? rest, line };
}

// ---------------------------------------------------------------------------------------------------
// Return type

let returnTypeProject: Project | undefined;

/**
 * Checks an `@return` type with the TypeScript parser and keeps it to what a Lua reply can be.
 * Returns the type as the parser reads it, or the problems found.
 */
function checkReturnType(text: string): { type?: string; problems: string[] } {
  returnTypeProject ??= new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  const file = returnTypeProject.createSourceFile('return-type.ts', `type __R = ${text};\n`, { overwrite: true });
  const syntaxErrors = returnTypeProject.getProgram().getSyntacticDiagnostics(file);
  const statements = file.getStatements();
  const alias = statements[0];
  if (syntaxErrors.length > 0 || statements.length !== 1 || !Node.isTypeAliasDeclaration(alias)) {
    const reason = syntaxErrors[0]
      ? ts.flattenDiagnosticMessageText(syntaxErrors[0].compilerObject.messageText, ' ')
      : 'it is not a single type';
    return { problems: [`@return type '${text}' is not valid TypeScript: ${reason}`] };
  }
  const typeNode = alias.getTypeNodeOrThrow();
  const problems: string[] = [];
  collectDisallowedTypes(typeNode, problems);
  return problems.length > 0 ? { problems } : { type: typeNode.getText(), problems };
}

const ALLOWED_RETURN_TYPES =
  'number, string, null, unknown, number and string literals, Buffer, and unions, tuples and arrays of them';

/** Walks a return type, reporting every part that a Lua script's reply cannot have. */
function collectDisallowedTypes(node: TypeNode, problems: string[]): void {
  const visit = (child: TypeNode) => collectDisallowedTypes(child, problems);
  if (Node.isUnionTypeNode(node)) node.getTypeNodes().forEach(visit);
  else if (Node.isArrayTypeNode(node)) visit(node.getElementTypeNode());
  else if (Node.isParenthesizedTypeNode(node)) visit(node.getTypeNode());
  else if (Node.isTupleTypeNode(node)) node.getElements().forEach((element) => visitTupleElement(element, problems));
  else {
    const reason = disallowedTypeReason(node);
    if (reason) problems.push(`@return type '${node.getText()}' is not allowed: ${reason}`);
  }
}

function visitTupleElement(element: TypeNode, problems: string[]): void {
  if (Node.isNamedTupleMember(element) && !element.hasQuestionToken() && !element.getDotDotDotToken()) {
    collectDisallowedTypes(element.getTypeNode(), problems);
  } else {
    collectDisallowedTypes(element, problems);
  }
}

/** Why a leaf of a return type is not allowed, or undefined when it is. */
function disallowedTypeReason(node: TypeNode): string | undefined {
  switch (node.getKind()) {
    case SyntaxKind.NumberKeyword:
    case SyntaxKind.StringKeyword:
    case SyntaxKind.UnknownKeyword:
      return undefined;
    case SyntaxKind.BooleanKeyword:
      return 'Redis replies 1 for a Lua true and null for false: write 1 | null';
    case SyntaxKind.AnyKeyword:
      return 'write unknown instead';
    case SyntaxKind.UndefinedKeyword:
    case SyntaxKind.VoidKeyword:
      return 'a Lua nil replies null: write null';
    case SyntaxKind.TypeLiteral:
      return 'a Lua table replies as an array: write a tuple or an array type';
    case SyntaxKind.NamedTupleMember:
    case SyntaxKind.OptionalType:
    case SyntaxKind.RestType:
      return 'optional and rest tuple members are not supported';
  }
  if (Node.isTypeReference(node)) {
    return node.getText() === 'Buffer'
      ? undefined
      : 'a Lua script cannot reply with it (the only type reference allowed is Buffer)';
  }
  if (Node.isLiteralTypeNode(node) && isNullNumberOrStringLiteral(node.getLiteral())) return undefined;
  if (Node.isLiteralTypeNode(node) && /^(true|false)$/.test(node.getText())) {
    return 'Redis replies 1 for a Lua true and null for false: write 1 or null';
  }
  return `a Lua reply cannot have this type; allowed are ${ALLOWED_RETURN_TYPES}`;
}

function isNullNumberOrStringLiteral(literal: Node): boolean {
  if (Node.isNullLiteral(literal) || Node.isNumericLiteral(literal) || Node.isStringLiteral(literal)) return true;
  return (
    Node.isPrefixUnaryExpression(literal) &&
    literal.getOperatorToken() === SyntaxKind.MinusToken &&
    Node.isNumericLiteral(literal.getOperand())
  );
}

// ---------------------------------------------------------------------------------------------------
// Body

/**
 * Checks that the body and the includes read KEYS and ARGV only at integer literals, that every index
 * read is declared, and that every declaration is read by one of them; then that every key they pass to
 * `redis.call` or `redis.pcall` is one of KEYS (see {@link checkRedisCalls}).
 */
function checkBody(parts: readonly CodePart[], header: Header, report: Report): void {
  const usedKeys = new Map<number, FirstUse>();
  const usedArgs = new Map<number, FirstUse>();
  for (const part of parts) {
    for (const access of findTableAccesses(stripCommentsAndStrings(part.text))) {
      const line = part.firstLine + access.line - 1;
      if (access.index === undefined) {
        part.report(line, access.table === 'KEYS' ? DYNAMIC_KEYS : DYNAMIC_ARGV);
      } else if (access.index < 1) {
        part.report(line, `${access.table}[${access.index}] is always nil: Lua arrays start at 1`);
      } else {
        const used = access.table === 'KEYS' ? usedKeys : usedArgs;
        if (!used.has(access.index)) used.set(access.index, { line, report: part.report });
      }
    }
    checkRedisCalls(part.text, part.firstLine, part.report);
  }
  checkIndexes('KEYS', 'key', header.keySlots, usedKeys, report);
  checkIndexes('ARGV', 'arg', header.argSlots, usedArgs, report);
}

/** Code checked by the body rules: the script's body, or an include, reported at its own lines. */
interface CodePart {
  readonly text: string;
  /** Line number of the text's first line in its file. */
  readonly firstLine: number;
  readonly report: Report;
}

/** Where KEYS[n] or ARGV[n] is first read, and how to report a problem there. */
interface FirstUse {
  readonly line: number;
  readonly report: Report;
}

const DYNAMIC_KEYS = 'dynamic KEYS access is not supported: declare every key with @key';
const DYNAMIC_ARGV = 'dynamic ARGV access is not supported: declare every argument with @arg';

/** Reports indexes used but not declared (at their first use) and declared but not used (at the tag). */
function checkIndexes(
  table: 'KEYS' | 'ARGV',
  tag: 'key' | 'arg',
  declared: readonly TagSlot[],
  firstUses: ReadonlyMap<number, FirstUse>,
  report: Report,
): void {
  for (const [index, use] of [...firstUses].sort(([a], [b]) => a - b)) {
    if (index > declared.length) use.report(use.line, `${table}[${index}] is used but ${declaredCount(declared.length, tag)}`);
  }
  declared.forEach((slot, position) => {
    // A tag without a valid name has been reported already.
    if (slot.name !== undefined && !firstUses.has(position + 1)) {
      report(slot.line, `@${tag} ${slot.name} (${table}[${position + 1}]) is declared but never used`);
    }
  });
}

/** `only 2 keys are declared`, `only 1 key is declared`, `no keys are declared`. */
function declaredCount(count: number, tag: string): string {
  if (count === 0) return `no ${tag}s are declared`;
  return count === 1 ? `only 1 ${tag} is declared` : `only ${count} ${tag}s are declared`;
}

/** One read of KEYS or ARGV in stripped code; `index` is undefined when it is not an integer literal. */
interface TableAccess {
  table: 'KEYS' | 'ARGV';
  index: number | undefined;
  /** 1-based line within the scanned code. */
  line: number;
}

function findTableAccesses(code: string): TableAccess[] {
  const accesses: TableAccess[] = [];
  const subscript = /\s*\[\s*(\d+)\s*\]/y;
  let line = 1;
  let counted = 0;
  for (const match of code.matchAll(/\b(KEYS|ARGV)\b/g)) {
    for (; counted < match.index; counted++) if (code[counted] === '\n') line++;
    subscript.lastIndex = match.index + match[0].length;
    const index = subscript.exec(code)?.[1];
    accesses.push({ table: match[1] as 'KEYS' | 'ARGV', index: index === undefined ? undefined : Number(index), line });
  }
  return accesses;
}

/**
 * Replaces Lua comments and string literals with spaces, keeping newlines so that line numbers hold.
 * Handles `-- ...`, `--[[ ... ]]`, `--[==[ ... ]==]`, quoted strings with escapes, and long-bracket strings.
 */
export function stripCommentsAndStrings(code: string): string {
  return blankTokens(code, () => true);
}

/** Like {@link stripCommentsAndStrings}, but keeps string literals: only comments become spaces. */
function stripComments(code: string): string {
  return blankTokens(code, (token) => token.startsWith('--'));
}

/** Replaces with spaces (newlines kept) each comment or string literal for which `blank` is true. */
function blankTokens(code: string, blank: (token: string) => boolean): string {
  const parts: string[] = [];
  let copiedUpTo = 0;
  let position = 0;
  while (position < code.length) {
    const end = skippedTokenEnd(code, position);
    if (end === undefined) {
      position++;
      continue;
    }
    const token = code.slice(position, end);
    if (blank(token)) {
      parts.push(code.slice(copiedUpTo, position), token.replace(/[^\n]/g, ' '));
      copiedUpTo = end;
    }
    position = end;
  }
  parts.push(code.slice(copiedUpTo));
  return parts.join('');
}

/** End of the comment or string starting at `position`, or undefined when none starts there. */
function skippedTokenEnd(code: string, position: number): number | undefined {
  const char = code[position];
  if (char === '-' && code[position + 1] === '-') {
    const level = longBracketLevel(code, position + 2);
    if (level !== undefined) return longBracketEnd(code, position + 2, level);
    const newline = code.indexOf('\n', position);
    return newline === -1 ? code.length : newline;
  }
  if (char === '"' || char === "'") return quotedStringEnd(code, position);
  if (char === '[') {
    const level = longBracketLevel(code, position);
    if (level !== undefined) return longBracketEnd(code, position, level);
  }
  return undefined;
}

/** Level of the long bracket `[==[` opening at `position` (the number of `=`), if one does. */
function longBracketLevel(code: string, position: number): number | undefined {
  if (code[position] !== '[') return undefined;
  let level = 0;
  while (code[position + 1 + level] === '=') level++;
  return code[position + 1 + level] === '[' ? level : undefined;
}

function longBracketEnd(code: string, position: number, level: number): number {
  const close = `]${'='.repeat(level)}]`;
  const end = code.indexOf(close, position + level + 2);
  return end === -1 ? code.length : end + close.length;
}

/** End of the quoted string opening at `position`; an unterminated one ends with its line, as in Lua. */
function quotedStringEnd(code: string, position: number): number {
  const quote = code[position];
  let index = position + 1;
  while (index < code.length) {
    const char = code[index];
    if (char === '\\') index += 2;
    else if (char === quote) return index + 1;
    else if (char === '\n') return index;
    else index++;
  }
  return code.length;
}

// ---------------------------------------------------------------------------------------------------
// Body: the keys of redis.call and redis.pcall

/**
 * Where a command's keys are among its arguments, counted from 1 after the command name: a list of
 * positions (empty: the command takes no key), `'all'` (every argument is a key) or `'odd'` (key, value,
 * key, value...). A position past the last argument is simply absent: `OBJECT HELP` has no key.
 */
type KeyPositions = readonly number[] | 'all' | 'odd';

/**
 * The commands a script may call, grouped by where their keys are (see `COMMAND INFO <name>` or the
 * command's page on redis.io). A command missing from here is refused rather than left unchecked: add
 * it to the group that matches it, or give it a new group. Commands Redis refuses in scripts (WATCH,
 * MULTI, EVAL...) stay out on purpose.
 */
const KEY_POSITION_TABLE: readonly (readonly [KeyPositions, readonly string[]])[] = [
  // No key at all.
  [[], ['TIME', 'PING', 'ECHO', 'INFO', 'DBSIZE']],
  // The first argument is the only key.
  [
    [1],
    [
      ...['GET', 'SET', 'SETEX', 'PSETEX', 'GETEX', 'GETDEL', 'GETSET', 'INCR', 'INCRBY', 'DECR', 'DECRBY'],
      ...['APPEND', 'STRLEN', 'TYPE', 'TTL', 'PTTL', 'EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT', 'PERSIST'],
      ...['EXPIRETIME', 'PEXPIRETIME', 'DUMP', 'RESTORE'],
      ...['HGET', 'HSET', 'HSETNX', 'HMSET', 'HMGET', 'HDEL', 'HEXISTS', 'HLEN', 'HKEYS', 'HVALS', 'HGETALL'],
      ...['HINCRBY', 'HINCRBYFLOAT', 'HSTRLEN'],
      ...['LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'LLEN', 'LRANGE', 'LTRIM'],
      ...['SADD', 'SREM', 'SMEMBERS', 'SISMEMBER', 'SCARD'],
      ...['ZADD', 'ZREM', 'ZRANGE', 'ZSCORE', 'ZCARD', 'ZRANGEBYSCORE', 'ZREMRANGEBYSCORE'],
      ...['XADD', 'XLEN'],
    ],
  ],
  // A subcommand, then the key: OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT <key>, MEMORY USAGE <key>.
  [[2], ['OBJECT', 'MEMORY']],
  // Source and destination.
  [[1, 2], ['RENAME', 'RENAMENX', 'COPY', 'SMOVE', 'LMOVE', 'RPOPLPUSH']],
  // Every argument.
  ['all', ['DEL', 'UNLINK', 'EXISTS', 'TOUCH', 'MGET']],
  // key value [key value ...]
  ['odd', ['MSET', 'MSETNX']],
];

const KEY_POSITIONS: ReadonlyMap<string, KeyPositions> = new Map(
  KEY_POSITION_TABLE.flatMap(([positions, commands]) => commands.map((command) => [command, positions] as const)),
);

function isKeyPosition(positions: KeyPositions, position: number): boolean {
  if (positions === 'all') return true;
  if (positions === 'odd') return position % 2 === 1;
  return positions.includes(position);
}

function hasKeyPositionAfter(positions: KeyPositions, position: number): boolean {
  return typeof positions === 'string' || positions.some((keyPosition) => keyPosition > position);
}

/** A key argument as the rule wants it; whitespace as the KEYS/ARGV rule allows it. */
const KEY_ARGUMENT = /^KEYS\s*\[\s*\d+\s*\]$/;

/** One argument of a call: its code (comments and strings blanked), its text (comments blanked). */
interface CallArgument {
  /** Trimmed, strings blanked: for its shape. */
  readonly code: string;
  /** Trimmed, strings kept: for a command name. */
  readonly text: string;
  /** `text` with line breaks and their indentation folded to one space: for messages. */
  readonly shown: string;
  /** Line of its first character. */
  readonly line: number;
}

/**
 * Checks every `redis.call(...)` and `redis.pcall(...)` of the body, so that every key a script touches
 * is passed in KEYS (Redis Cluster routes a script by its KEYS; ACL key patterns check them):
 *
 * - the command name is a string literal (`'HSET'`, `"hset"`, `[[HSET]]`; case-insensitive);
 * - the command is in {@link KEY_POSITION_TABLE};
 * - every argument in a key position is exactly `KEYS[<integer>]`;
 * - a last argument that is a call or `...` (Lua spreads all its values into the argument list) is
 *   refused when key positions follow it, unless wrapped in parentheses, which keeps one value;
 * - `redis.call` and `redis.pcall` are called directly, with parentheses: an alias (`local call =
 *   redis.call`), passing them as a value, `redis['call']`, or `redis.call 'TIME'` is refused.
 *
 * Limits: this is a scanner over the text, not a Lua parser. It finds `redis.call` (spaces allowed
 * around the dot) in the code outside comments and strings, and splits the argument list at commas
 * outside `()`, `[]`, `{}` and string literals, across lines. It does not follow values: a key
 * that is a local holding `KEYS[1]` is refused, and so is a command name held in a variable. A command
 * name with escapes (`'G\69T'`) is not decoded, so it is reported unknown. It is a lint against mistakes,
 * not a sandbox: it does not see `redis` itself aliased (`local r = redis`), `_G.redis`, `rawget`,
 * `loadstring`, nor a `redis` shadowed by a local. `KEYS[<expression>]` in a key position is left to the
 * dynamic KEYS rule, which reports it already.
 */
function checkRedisCalls(body: string, firstLine: number, report: Report): void {
  const code = stripCommentsAndStrings(body);
  const text = stripComments(body);
  const lineAt = lineLocator(body, firstLine);
  for (const match of code.matchAll(/\bredis\s*\.\s*(p?call)\b/g)) {
    const functionName = `redis.${match[1]}`;
    let next = match.index + match[0].length;
    // Over `text`, not `code`: a blanked string must stop the skip, so that `redis.call 'TIME'` is seen.
    while (/\s/.test(text[next] ?? '')) next++;
    if (code[next] === '(') {
      checkRedisCall(functionName, lineAt(match.index), next, code, text, lineAt, report);
    } else if (startsCallArguments(text, next)) {
      report(lineAt(match.index), `${functionName} must be called with parentheses so its arguments can be checked`);
    } else {
      report(lineAt(match.index), `${functionName} must be called directly`);
    }
  }
  for (const match of text.matchAll(/\bredis\s*\[\s*(['"])(p?call)\1\s*\]/g)) {
    // Only where `redis` is code: not in a string.
    if (code[match.index] === 'r') report(lineAt(match.index), `redis.${match[2]} must be called directly`);
  }
}

/** Whether call arguments without parentheses start at `index`: a string literal or a table (`f'x'`, `f{x}`). */
function startsCallArguments(text: string, index: number): boolean {
  const char = text[index];
  return char === "'" || char === '"' || char === '{' || longBracketLevel(text, index) !== undefined;
}

/** Checks one call whose `(` is at `open`; `code` and `text` are the body blanked two ways. */
function checkRedisCall(
  functionName: string,
  callLine: number,
  open: number,
  code: string,
  text: string,
  lineAt: (index: number) => number,
  report: Report,
): void {
  const spans = splitArguments(code, open + 1);
  if (!spans) {
    report(callLine, `${functionName}( has no closing parenthesis`);
    return;
  }
  const args = spans.map(({ start, end }): CallArgument => {
    const argumentText = text.slice(start, end);
    const leading = argumentText.length - argumentText.trimStart().length;
    const trimmed = argumentText.trim();
    return {
      code: code.slice(start, end).trim(),
      text: trimmed,
      shown: trimmed.replace(/\s*\n\s*/g, ' '),
      line: lineAt(start + leading),
    };
  });
  const [nameArgument, ...rest] = args.length === 1 && args[0]!.text === '' ? [] : args;
  const command = nameArgument && stringLiteralValue(nameArgument.text)?.toUpperCase();
  if (command === undefined) {
    report(
      nameArgument?.line ?? callLine,
      `${functionName} command name must be a string literal so its keys can be checked`,
    );
    return;
  }
  const positions = KEY_POSITIONS.get(command);
  if (positions === undefined) {
    report(nameArgument!.line, `unknown command ${command}: add it to the key-position table in scripts/lua-header.ts`);
    return;
  }
  rest.forEach((argument, index) => {
    const position = index + 1;
    if (isKeyPosition(positions, position)) {
      if (!KEY_ARGUMENT.test(argument.code) && !isKeysSubscript(argument.code)) {
        report(
          argument.line,
          `${command} key argument must be KEYS[n]: ` +
            `scripts may only touch keys passed in KEYS (found: ${argument.shown})`,
        );
      }
    } else if (
      position === rest.length &&
      hasKeyPositionAfter(positions, position) &&
      mayReturnSeveralValues(argument.text)
    ) {
      report(
        argument.line,
        `${command} last argument may spread several values into key positions: ` +
          `wrap it in parentheses to keep one (found: ${argument.shown})`,
      );
    }
  });
}

/**
 * Splits an argument list that starts at `start` (just after its `(`) at the commas outside brackets;
 * `code` has its comments and strings blanked. Returns the spans, or undefined when the list is not closed.
 */
function splitArguments(code: string, start: number): { start: number; end: number }[] | undefined {
  const spans: { start: number; end: number }[] = [];
  let depth = 0;
  let argumentStart = start;
  for (let index = start; index < code.length; index++) {
    const char = code[index]!;
    if (char === '(' || char === '[' || char === '{') {
      depth++;
    } else if (char === ')' || char === ']' || char === '}') {
      if (depth === 0) {
        spans.push({ start: argumentStart, end: index });
        return spans;
      }
      depth--;
    } else if (char === ',' && depth === 0) {
      spans.push({ start: argumentStart, end: index });
      argumentStart = index + 1;
    }
  }
  return undefined;
}

/** `KEYS[<anything>]` as a whole: what is not `KEYS[n]` there is a dynamic access, reported as such. */
function isKeysSubscript(code: string): boolean {
  const open = /^KEYS\s*\[/.exec(code);
  return open !== null && closingIndex(code, open[0].length - 1) === code.length - 1;
}

/** The value of `text` when it is exactly one string literal (escapes left as written), else undefined. */
function stringLiteralValue(text: string): string | undefined {
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    const closed = text.length >= 2 && text.endsWith(quote) && quotedStringEnd(text, 0) === text.length;
    return closed ? text.slice(1, -1) : undefined;
  }
  const level = longBracketLevel(text, 0);
  if (level === undefined) return undefined;
  const close = `]${'='.repeat(level)}]`;
  if (longBracketEnd(text, 0, level) !== text.length || !text.endsWith(close) || text.length < 2 * close.length) {
    return undefined;
  }
  // Lua drops a line break right after the opening bracket.
  return text.slice(close.length, -close.length).replace(/^\r?\n/, '');
}

/**
 * Whether an argument can stand for several values: `...`, or a call (`f(x)`, `t.f(x)`, `o:m(x)`,
 * `f'x'`, `f{x}`), whose values Lua all passes when it is the last argument. A call in parentheses, an
 * operator expression or a literal is one value. `text` has its comments blanked and is trimmed.
 */
function mayReturnSeveralValues(text: string): boolean {
  if (text === '...') return true;
  let index = 0;
  const skipSpace = () => {
    while (/\s/.test(text[index] ?? '')) index++;
  };
  const name = () => {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(index));
    if (match) index += match[0].length;
    return match !== null;
  };
  /** Skips call arguments: `(...)`, `{...}` or one string literal. */
  const callArguments = () => {
    const end =
      text[index] === '(' || text[index] === '{' ? closingIndex(text, index) : skippedTokenEnd(text, index);
    if (end === undefined) return false;
    index = text[index] === '(' || text[index] === '{' ? end + 1 : end;
    return true;
  };

  if (text[index] === '(') {
    const end = closingIndex(text, index);
    if (end === undefined) return false;
    index = end + 1;
  } else if (!name()) {
    return false;
  }
  let isCall = false;
  for (;;) {
    skipSpace();
    if (index >= text.length) return isCall;
    const char = text[index];
    if (char === '.' && text[index + 1] !== '.') {
      index++;
      skipSpace();
      if (!name()) return false;
      isCall = false;
    } else if (char === ':') {
      index++;
      skipSpace();
      if (!name()) return false;
      skipSpace();
      if (!callArguments()) return false;
      isCall = true;
    } else if (char === '[' && longBracketLevel(text, index) === undefined) {
      const end = closingIndex(text, index);
      if (end === undefined) return false;
      index = end + 1;
      isCall = false;
    } else if (char === '(' || char === '{' || char === "'" || char === '"' || char === '[') {
      if (!callArguments()) return false;
      isCall = true;
    } else {
      return false;
    }
  }
}

/** Index of the bracket closing the one at `open`, skipping strings and comments; undefined if none. */
function closingIndex(code: string, open: number): number | undefined {
  let depth = 0;
  let index = open;
  while (index < code.length) {
    const skipped = skippedTokenEnd(code, index);
    if (skipped !== undefined) {
      index = skipped;
      continue;
    }
    const char = code[index];
    if (char === '(' || char === '[' || char === '{') depth++;
    else if ((char === ')' || char === ']' || char === '}') && --depth === 0) return index;
    index++;
  }
  return undefined;
}

/** Maps an index of `code` to its line number, `firstLine` being the number of the first line. */
function lineLocator(code: string, firstLine: number): (index: number) => number {
  const newlines: number[] = [];
  for (let index = code.indexOf('\n'); index !== -1; index = code.indexOf('\n', index + 1)) newlines.push(index);
  return (index) => {
    let low = 0;
    let high = newlines.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (newlines[middle]! < index) low = middle + 1;
      else high = middle;
    }
    return firstLine + low;
  };
}

// ---------------------------------------------------------------------------------------------------
// Across scripts

/** Reports generated exports that two scripts would share (e.g. `foo_bar` and `foo__bar`). */
function findExportClashes(scripts: readonly ScriptModel[]): Diagnostic[] {
  const owners = new Map<string, string>([[ALL_SCRIPTS_NAME, 'generated/index.ts']]);
  const diagnostics: Diagnostic[] = [];
  for (const script of scripts) {
    for (const exported of [script.functionName, script.definitionName, script.replyTypeName]) {
      const owner = owners.get(exported);
      if (owner === undefined) {
        owners.set(exported, script.path);
      } else {
        const message = `script '${script.name}' would export '${exported}', which ${owner} exports too`;
        diagnostics.push({ file: script.path, line: script.scriptLine, message });
      }
    }
  }
  return diagnostics;
}
