/**
 * The types the generator's stages share: the sources it reads, the diagnostics it reports and the
 * model of a valid script that emission turns into a wrapper. Declarations only, and how a diagnostic
 * prints, so that every stage can depend on this module and on nothing else of the others.
 *
 * @module
 */

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

/** The types an `@arg` may declare: `integer` is a `number` that must be integral. */
export const ARG_TYPES = ['string', 'number', 'integer', 'Buffer'] as const;

/** A type an `@arg` may declare. */
export type ArgType = (typeof ARG_TYPES)[number];

/** A `---@key` tag: the n-th one is `KEYS[n]`. */
export interface KeyDeclaration {
  readonly name: string;
  /**
   * Declared with `name...`, as the last @key: a list of keys, `KEYS[n]` onwards. The wrapper takes an
   * array and passes the number of keys of each call.
   */
  readonly variadic: boolean;
  readonly description: string;
  /** Line of the tag. */
  readonly line: number;
}

/** A `---@arg` tag: the n-th one is `ARGV[n]`. */
export interface ArgDeclaration {
  readonly name: string;
  /** Declared with `name?`: typed `T | null` and sent as `''` when null. */
  readonly optional: boolean;
  /** Declared with `name...`, as the last @arg: a list of arguments, `ARGV[n]` onwards, typed `T[]`. */
  readonly variadic: boolean;
  /** Members of the declared union, as written (deduplicated). */
  readonly types: readonly ArgType[];
  /** TypeScript type of the wrapper's parameter, `| null` included when optional, `[]` when variadic. */
  readonly tsType: string;
  readonly description: string;
  /** Line of the tag. */
  readonly line: number;
}

/**
 * The decoding one position of a reply needs (see `reply-decoding.ts`); a position that needs none has
 * no shape (undefined).
 */
export interface ReplyShape {
  /** A Buffer here is decoded to a string: the type has `string` or a string literal here. */
  readonly text: boolean;
  /** An array here has items to decode; undefined when none of them needs decoding. */
  readonly items: ItemsShape | undefined;
}

/** The decoding of the items of an array reply: by index (tuples), then for every further item (arrays). */
export interface ItemsShape {
  /** The shape of item `i`, from the tuples and arrays that may be here; undefined entries need nothing. */
  readonly elements: readonly (ReplyShape | undefined)[];
  /** The shape of every item from `elements.length` on (an array type here), or undefined. */
  readonly rest: ReplyShape | undefined;
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
  /** How the wrapper decodes the reply's Buffers where the type says string; undefined: it returns the reply as is. */
  readonly replyDecoding: ReplyShape | undefined;
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

/** Reports a problem at a 1-based line of the file being checked. */
export type Report = (line: number, message: string) => void;

/** Where the scripts are and where their wrappers go, as messages and banners name them. */
export interface Layout {
  /** Folder of the scripts, e.g. `lua`; its includes are in `<luaDirectory>/include`. */
  readonly luaDirectory: string;
  /** Folder of the generated modules, e.g. `generated`. */
  readonly outDirectory: string;
}

/** The library's own layout: `lua/*.lua` generates `generated/*.ts`. */
export const PROJECT_LAYOUT: Layout = { luaDirectory: 'lua', outDirectory: 'generated' };

/** Formats a diagnostic the way the generator prints it: `lua/read.lua:3: message`. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  return `${diagnostic.file}:${diagnostic.line}: ${diagnostic.message}`;
}
