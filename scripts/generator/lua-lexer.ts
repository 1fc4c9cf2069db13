/**
 * The lexical layer of the body rules: where Lua comments and string literals start and end (quoted
 * strings with escapes, long brackets `[==[ ... ]==]`, `--` and `--[[ ... ]]` comments), so that the
 * scanners above it never mistake text in a comment or a string for code. Every function keeps offsets
 * and newlines as they are, so that a match in blanked code is reported at its line in the file.
 *
 * @module
 */

/**
 * Replaces Lua comments and string literals with spaces, keeping newlines so that line numbers hold.
 * Handles `-- ...`, `--[[ ... ]]`, `--[==[ ... ]==]`, quoted strings with escapes, and long-bracket strings.
 */
export function stripCommentsAndStrings(code: string): string {
  return blankTokens(code, () => true);
}

/** Like {@link stripCommentsAndStrings}, but keeps string literals: only comments become spaces. */
export function stripComments(code: string): string {
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
export function skippedTokenEnd(code: string, position: number): number | undefined {
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
export function longBracketLevel(code: string, position: number): number | undefined {
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

/** The value of `text` when it is exactly one string literal (escapes left as written), else undefined. */
export function stringLiteralValue(text: string): string | undefined {
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

/** Index of the bracket closing the one at `open`, skipping strings and comments; undefined if none. */
export function closingIndex(code: string, open: number): number | undefined {
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
export function lineLocator(code: string, firstLine: number): (index: number) => number {
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
