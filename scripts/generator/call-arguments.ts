/**
 * How a Lua call's argument list reads, as far as the `redis.call` rule needs it: where each argument
 * starts and ends, and whether the last one may spread several values into the positions after it.
 *
 * @module
 */
import { closingIndex, longBracketLevel, skippedTokenEnd } from './lua-lexer.js';

/**
 * Splits an argument list that starts at `start` (just after its `(`) at the commas outside brackets;
 * `code` has its comments and strings blanked. Returns the spans, or undefined when the list is not closed.
 */
export function splitArguments(code: string, start: number): { start: number; end: number }[] | undefined {
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

/**
 * Whether an argument can stand for several values: `...`, or a call (`f(x)`, `t.f(x)`, `o:m(x)`,
 * `f'x'`, `f{x}`), whose values Lua all passes when it is the last argument. A call in parentheses, an
 * operator expression or a literal is one value. `text` has its comments blanked and is trimmed.
 */
export function mayReturnSeveralValues(text: string): boolean {
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
