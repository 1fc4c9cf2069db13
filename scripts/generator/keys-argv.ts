/**
 * The body rules that tie the header to the code: KEYS and ARGV are read only as `KEYS[n]`/`ARGV[n]`
 * with an integer literal, every index read is declared by an `@key`/`@arg` tag, and every tag is read.
 * The wrapper passes exactly the declared keys and arguments, so these rules make it pass all that the
 * script reads and nothing it ignores. They run over the body and over each include of the script,
 * comments and strings aside, together with the `redis.call` rule of `redis-calls.ts`.
 *
 * @module
 */
import type { Header, TagSlot } from './header.js';
import { stripCommentsAndStrings } from './lua-lexer.js';
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
export interface CodePart {
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
