/**
 * The body rule on `redis.call` and `redis.pcall`: every key a script touches is passed in KEYS, so
 * that Redis Cluster routes the script to the node holding its keys and ACL key patterns see them.
 *
 * @module
 */
import { mayReturnSeveralValues, splitArguments } from './call-arguments.js';
import { keyPositions } from './key-positions.js';
import { closingIndex, lineLocator, longBracketLevel, stringLiteralValue, stripComments, stripCommentsAndStrings } from './lua-lexer.js';
import type { Report } from './model.js';

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
 * - the command is one Redis allows in scripts, and its key positions are known (`key-positions.ts`,
 *   from the server's key specifications): a subcommand, or a number of keys, that decides them is a
 *   literal;
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
export function checkRedisCalls(body: string, firstLine: number, report: Report): void {
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
  const positions = keyPositions(
    command,
    rest.map((argument) => argument.text),
  );
  if ('message' in positions) {
    const argument = positions.position === 0 ? nameArgument! : rest[positions.position - 1]!;
    report(argument.line, positions.showsArgument ? `${positions.message} (found: ${argument.shown})` : positions.message);
    return;
  }
  rest.forEach((argument, index) => {
    const position = index + 1;
    if (positions.isKey(position)) {
      if (!KEY_ARGUMENT.test(argument.code) && !isKeysSubscript(argument.code)) {
        report(
          argument.line,
          `${positions.name} key argument must be KEYS[n]: ` +
            `scripts may only touch keys passed in KEYS (found: ${argument.shown})`,
        );
      }
    } else if (
      position === rest.length &&
      positions.hasKeyAfter(position) &&
      mayReturnSeveralValues(argument.text)
    ) {
      report(
        argument.line,
        `${positions.name} last argument may spread several values into key positions: ` +
          `wrap it in parentheses to keep one (found: ${argument.shown})`,
      );
    }
  });
}

/** `KEYS[<anything>]` as a whole: what is not `KEYS[n]` there is a dynamic access, reported as such. */
function isKeysSubscript(code: string): boolean {
  const open = /^KEYS\s*\[/.exec(code);
  return open !== null && closingIndex(code, open[0].length - 1) === code.length - 1;
}
