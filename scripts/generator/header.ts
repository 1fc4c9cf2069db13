/**
 * The header of a script: the run of lines starting with `---` right after the shebang, read into
 * its description and tags. Each tag is checked on its own here; how the tags agree with the body is
 * checked by `keys-argv.ts`.
 *
 * ```
 * --- Free description text, one or more lines (required, before the first tag)
 * ---@script <name>                           required, once; the file's base name
 * ---@key <name> <description>                the n-th @key is KEYS[n]
 * ---@key <name>... <description>             variadic: KEYS[n] onwards; only as the last @key
 * ---@arg <name>[?] <type> <description>      the n-th @arg is ARGV[n]; `?` = optional
 * ---@arg <name>... <type> <description>      variadic: ARGV[n] onwards; only as the last @arg
 * ---@include <name>                          inlines lua/include/<name>.lua after the header
 * ---@return <TypeScript type>                required, once; the rest of the line
 * ```
 *
 * Variadic keys and arguments, for scripts over any number of keys: `---@key entries... <description>`
 * makes the wrapper take `entries: RedisKey[]` and pass `numberOfKeys = <fixed keys> + entries.length`
 * (a copy of the definition per call, `{ ...script, numberOfKeys }`); `---@arg values... <type>
 * <description>` makes it take `values: T[]`, spread after the fixed arguments. At most one of each,
 * each the last of its tags, and neither optional (an empty array passes none). In the body, a variadic
 * @key allows `#KEYS` and `KEYS[<any expression>]` (e.g. `for i = 2, #KEYS do ... KEYS[i] ... end`),
 * also as the key argument of a `redis.call`; a variadic @arg allows `#ARGV` and `ARGV[<any
 * expression>]`. A fixed key or argument is still read as `KEYS[n]`/`ARGV[n]`, and any other use of the
 * table (`unpack(KEYS)`, `ipairs(ARGV)`) stays refused. Without a variadic tag, every read is
 * `KEYS[n]`/`ARGV[n]` with an integer literal.
 *
 * The `@return` type also decides how the wrapper decodes the reply: bulk strings arrive as Buffers,
 * so where the type says `string` a Buffer is decoded as UTF-8 (see `reply-decoding.ts`).
 *
 * @module
 */
import { camelCase, exportNames, RESERVED_WORDS, RUNNER_PARAMETER } from './export-names.js';
import { ARG_TYPES, type ArgDeclaration, type ArgType, type KeyDeclaration, type ReplyShape, type Report } from './model.js';
import { checkReturnType } from './return-type.js';

/** TypeScript spelling of each @arg type: `integer` only documents that the number must be integral. */
const TS_ARG_TYPES: Record<ArgType, string> = {
  string: 'string',
  number: 'number',
  integer: 'number',
  Buffer: 'Buffer',
};

const SCRIPT_NAME = /^[a-z][a-z0-9_]*$/;
const PARAMETER_NAME = /^[a-z][a-zA-Z0-9]*$/;

/** The header as parsed so far. */
export interface Header {
  description: string[];
  script?: { name: string; line: number };
  returnType?: { text: string; line: number; decoding?: ReplyShape };
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

/** One `@key` or `@arg` tag, in declaration order: its line, and its name when that is valid. */
export interface TagSlot {
  line: number;
  name?: string;
  /** Declared with `name...`: KEYS[n] (or ARGV[n]) onwards. */
  variadic?: boolean;
}

/** The suffix that declares a variadic key or argument: `entries...`. */
const VARIADIC = '...';

/** The names of the `---@include` tags in the header of `text` (the `---` lines after line 1). */
export function headerIncludes(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line.startsWith('---')) break;
    const tag = /^---@include\s+(\S+)/.exec(line);
    if (tag) names.push(tag[1]!);
  }
  return names;
}

/**
 * Parses the `---` lines following the shebang; `firstLine` is the line number of the first one.
 * `includeDirectory` is the folder of the includes, as messages name it.
 */
export function parseHeader(
  headerLines: readonly string[],
  firstLine: number,
  fileBaseName: string,
  report: Report,
  includeDirectory = 'lua/include',
): Header {
  const header: Header = { description: [], keys: [], args: [], keySlots: [], argSlots: [], names: new Map(), includes: [] };
  let tagSeen = false;
  headerLines.forEach((text, index) => {
    const line = firstLine + index;
    const tag = /^---@(\S*)\s*(.*)$/.exec(text);
    if (tag) {
      tagSeen = true;
      parseTag(tag[1]!, tag[2]!.trim(), line, fileBaseName, header, report, includeDirectory);
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
  checkVariadicSlots(header.keySlots, 'key', report);
  checkVariadicSlots(header.argSlots, 'arg', report);
  return header;
}

/** A variadic tag must be the last of its kind, and there is at most one. */
function checkVariadicSlots(slots: readonly TagSlot[], tag: 'key' | 'arg', report: Report): void {
  const table = tag === 'key' ? 'KEYS' : 'ARGV';
  let first: TagSlot | undefined;
  slots.forEach((slot, index) => {
    if (!slot.variadic) return;
    if (first) {
      report(slot.line, `only one @${tag} may be variadic: ${first.name ?? 'the one'}... on line ${first.line} already takes the rest of ${table}`);
    } else if (index !== slots.length - 1 && !slots.slice(index + 1).some((later) => later.variadic)) {
      report(
        slot.line,
        `variadic @${tag} ${slot.name ?? ''}... must be the last @${tag}: it takes ${table}[${index + 1}] onwards, so nothing can follow it`,
      );
    }
    first ??= slot;
  });
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

function parseTag(
  tag: string,
  rest: string,
  line: number,
  fileBaseName: string,
  header: Header,
  report: Report,
  includeDirectory: string,
): void {
  switch (tag) {
    case 'script':
      return parseScriptTag(rest, line, fileBaseName, header, report);
    case 'key':
      return parseKeyTag(rest, line, header, report);
    case 'arg':
      return parseArgTag(rest, line, header, report);
    case 'include':
      return parseIncludeTag(rest, line, header, report, includeDirectory);
    case 'return':
      return parseReturnTag(rest, line, header, report);
    default:
      report(line, `unknown tag @${tag}: expected @script, @key, @arg, @include or @return`);
  }
}

function parseIncludeTag(rest: string, line: number, header: Header, report: Report, includeDirectory: string): void {
  if (!SCRIPT_NAME.test(rest)) {
    report(line, `invalid @include ${JSON.stringify(rest)}: expected the base name of a file in ${includeDirectory}/, like \`entry_state\``);
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
  const [, nameWord = '', description = ''] = match;
  const variadic = nameWord.endsWith(VARIADIC);
  const name = variadic ? nameWord.slice(0, -VARIADIC.length) : nameWord;
  if (variadic) slot.variadic = true;
  const nameValid = checkParameterName(name, line, header, report);
  if (nameValid) slot.name = name;
  if (description === '') report(line, `@key ${nameWord} needs a description`);
  else if (nameValid) header.keys.push({ name, variadic, description, line });
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
  // `name`, `name?`, `name...`; `name?...` and `name...?` are read as both, to be refused.
  const suffix = /(?:\?\.\.\.|\.\.\.\?|\.\.\.|\?)$/.exec(nameWord)?.[0] ?? '';
  const variadic = suffix.includes(VARIADIC);
  const optional = suffix.includes('?');
  const name = nameWord.slice(0, nameWord.length - suffix.length);
  if (variadic) slot.variadic = true;
  const nameValid = checkParameterName(name, line, header, report);
  if (nameValid) slot.name = name;
  if (variadic && optional) {
    report(line, `variadic @arg ${name}... cannot be optional: pass an empty array for no ${name}`);
  }

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
  else if (nameValid && types && !(variadic && optional)) {
    header.args.push({ name, optional, variadic, types, tsType: argTsType(types, optional, variadic), description, line });
  }
}

function argTsType(types: readonly ArgType[], optional: boolean, variadic: boolean): string {
  const members = [...new Set(types.map((type) => TS_ARG_TYPES[type]))];
  const tsType = members.join(' | ');
  if (variadic) return members.length === 1 ? `${tsType}[]` : `(${tsType})[]`;
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
  header.returnType = { text: result.type ?? rest, line, ...(result.decoding ? { decoding: result.decoding } : {}) };
}
