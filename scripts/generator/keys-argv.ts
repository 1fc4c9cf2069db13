/**
 * The body rules that tie the header to the code: KEYS and ARGV are read only as `KEYS[n]`/`ARGV[n]`
 * with an integer literal, every index read is declared by an `@key`/`@arg` tag, and every tag is read.
 * The wrapper passes exactly the declared keys and arguments, so these rules make it pass all that the
 * script reads and nothing it ignores. They run over the body and over each include of the script,
 * comments and strings aside, together with the `redis.call` rule of `redis-calls.ts`.
 *
 * A variadic tag (`---@key entries...`, `---@arg values...`, the last of its kind) loosens them for its
 * table: `#KEYS` and `KEYS[<any expression>]` are then allowed, and so is any literal index from the
 * variadic one on; each counts as a read of the variadic tag. The fixed tags before it are still read as
 * `KEYS[n]`, and any other use of the table (`unpack(KEYS)`, `ipairs(KEYS)`) is still refused.
 *
 * An include may index KEYS and ARGV with an expression (a function of `lua/include/` that works on the
 * i-th key, shared by single-key and many-key scripts): that reads whatever index it is given, so it
 * counts as a read of every declared tag of that table. Scripts keep the strict rules.
 *
 * @module
 */
import type { Header, TagSlot } from './header.js';
import { closingIndex, stripCommentsAndStrings } from './lua-lexer.js';
import type { Report } from './model.js';
import { checkRedisCalls } from './redis-calls.js';

/**
 * Checks that the body and the includes read KEYS and ARGV only at integer literals, that every index
 * read is declared, and that every declaration is read by one of them; then that every key they pass to
 * `redis.call` or `redis.pcall` is one of KEYS (see {@link checkRedisCalls}).
 */
export function checkBody(parts: readonly CodePart[], header: Header, report: Report): void {
  const usedKeys = new Map<number, FirstUse>();
  const usedArgs = new Map<number, FirstUse>();
  const variadic = { KEYS: variadicIndex(header.keySlots), ARGV: variadicIndex(header.argSlots) };
  for (const part of parts) {
    for (const access of findTableAccesses(stripCommentsAndStrings(part.text))) {
      const line = part.firstLine + access.line - 1;
      const variadicAt = variadic[access.table];
      if (access.index === undefined) {
        if (part.include === true && access.kind === 'subscript') {
          const used = access.table === 'KEYS' ? usedKeys : usedArgs;
          const slots = access.table === 'KEYS' ? header.keySlots : header.argSlots;
          for (let index = 1; index <= slots.length; index++) if (!used.has(index)) used.set(index, { line, report: part.report });
        } else if (variadicAt === undefined) {
          part.report(line, access.table === 'KEYS' ? DYNAMIC_KEYS : DYNAMIC_ARGV);
        } else if (access.kind === 'other') {
          const table = access.table;
          part.report(line, `${table} can only be read as ${table}[<expression>] or #${table}: a use like unpack(${table}) or ipairs(${table}) hides its values from the checks`);
        } else {
          const used = access.table === 'KEYS' ? usedKeys : usedArgs;
          if (!used.has(variadicAt)) used.set(variadicAt, { line, report: part.report });
        }
      } else if (access.index < 1) {
        part.report(line, `${access.table}[${access.index}] is always nil: Lua arrays start at 1`);
      } else {
        const used = access.table === 'KEYS' ? usedKeys : usedArgs;
        // From the variadic tag on, a literal index is a read of it.
        const index = variadicAt !== undefined && access.index > variadicAt ? variadicAt : access.index;
        if (!used.has(index)) used.set(index, { line, report: part.report });
      }
    }
    checkRedisCalls(part.text, part.firstLine, part.report);
  }
  checkIndexes('KEYS', 'key', header.keySlots, usedKeys, report);
  checkIndexes('ARGV', 'arg', header.argSlots, usedArgs, report);
}

/** The 1-based index of the variadic tag among `slots` (the first one, when several are wrongly declared). */
function variadicIndex(slots: readonly TagSlot[]): number | undefined {
  const index = slots.findIndex((slot) => slot.variadic);
  return index === -1 ? undefined : index + 1;
}

/** Code checked by the body rules: the script's body, or an include, reported at its own lines. */
export interface CodePart {
  readonly text: string;
  /** Line number of the text's first line in its file. */
  readonly firstLine: number;
  readonly report: Report;
  /** Whether it is an include, which may index KEYS and ARGV with an expression. */
  readonly include?: boolean;
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
  // A variadic tag that is not alone and last is reported by the header: the indexes after it mean nothing.
  const variadics = declared.filter((slot) => slot.variadic).length;
  if (variadics > 1 || (variadics === 1 && !declared[declared.length - 1]!.variadic)) return;
  for (const [index, use] of [...firstUses].sort(([a], [b]) => a - b)) {
    if (index > declared.length) use.report(use.line, `${table}[${index}] is used but ${declaredCount(declared.length, tag)}`);
  }
  declared.forEach((slot, position) => {
    // A tag without a valid name has been reported already.
    if (slot.name !== undefined && !firstUses.has(position + 1)) {
      const what = slot.variadic ? `${slot.name}... (${table}[${position + 1}] onwards)` : `${slot.name} (${table}[${position + 1}])`;
      report(slot.line, `@${tag} ${what} is declared but never used`);
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
  /** `KEYS[...]` (`index` set when a literal), `#KEYS`, or any other use of the table. */
  kind: 'subscript' | 'length' | 'other';
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
    const table = match[1] as 'KEYS' | 'ARGV';
    subscript.lastIndex = match.index + match[0].length;
    const index = subscript.exec(code)?.[1];
    if (index !== undefined) {
      accesses.push({ table, index: Number(index), kind: 'subscript', line });
      continue;
    }
    const after = /^\s*\[/.exec(code.slice(match.index + match[0].length));
    const isSubscript = after !== null && closingIndex(code, match.index + match[0].length + after[0].length - 1) !== undefined;
    const isLength = /#\s*$/.test(code.slice(Math.max(0, match.index - 64), match.index));
    accesses.push({ table, index: undefined, kind: isSubscript ? 'subscript' : isLength ? 'length' : 'other', line });
  }
  return accesses;
}
