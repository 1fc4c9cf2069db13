/**
 * What the wrapper does to a reply so that it is what the `@return` type says: a runner returns every
 * bulk string as a `Buffer` (see `ScriptRunner`), so where the type says `string` (or a string literal)
 * the wrapper decodes a `Buffer` it finds there as UTF-8. A status reply (`+OK`) already arrives as a
 * string and is left as it is, and so are numbers, null and whatever `unknown` covers.
 *
 * A position typed both `string` and `Buffer` is refused: both arrive as Buffers, so nothing tells the
 * wrapper which one a reply is. The same holds for two members of a union that meet at one position
 * (`[Buffer] | string[]`: the first item).
 *
 * This module reads the type into a {@link ReplyShape}, the decoding it implies; `emit.ts` writes the
 * code for that shape, and nothing at all for a type without strings, whose wrapper stays as it was.
 *
 * @module
 */
import { Node, type TypeNode } from 'ts-morph';
import type { ItemsShape, ReplyShape } from './model.js';

/**
 * The decoding that a checked `@return` type (see `return-type.ts`) implies, or the positions where it
 * cannot be told (string and Buffer at one position). `shape` is undefined when nothing is decoded.
 */
export function replyDecoding(type: TypeNode): { shape: ReplyShape | undefined; problems: string[] } {
  const problems = new Set<string>();
  const shape = positionShape([type], 'reply', type.getText(), problems);
  return { shape: problems.size > 0 ? undefined : shape, problems: [...problems] };
}

/** The shape of a position that any of `types` may describe; `path` names it in messages (`reply[1]`). */
function positionShape(types: readonly TypeNode[], path: string, whole: string, problems: Set<string>): ReplyShape | undefined {
  let text = false;
  let bytes = false;
  let unknown = false;
  const tuples: TypeNode[][] = [];
  const arrays: TypeNode[] = [];
  const visit = (node: TypeNode): void => {
    if (Node.isUnionTypeNode(node)) node.getTypeNodes().forEach(visit);
    else if (Node.isParenthesizedTypeNode(node)) visit(node.getTypeNode());
    else if (Node.isArrayTypeNode(node)) arrays.push(node.getElementTypeNode());
    else if (Node.isTupleTypeNode(node)) tuples.push(node.getElements().map((element) => (Node.isNamedTupleMember(element) ? element.getTypeNode() : element)));
    else if (Node.isLiteralTypeNode(node) && Node.isStringLiteral(node.getLiteral())) text = true;
    else if (node.getText() === 'string') text = true;
    else if (node.getText() === 'unknown') unknown = true;
    else if (Node.isTypeReference(node) && node.getText() === 'Buffer') bytes = true;
  };
  types.forEach(visit);
  // `unknown` takes any reply as it comes: nothing below it is decoded.
  if (unknown) return undefined;
  if (text && bytes) {
    problems.add(
      `@return type '${whole}' has both string and Buffer at ${path}: bulk strings arrive as Buffers, ` +
        'so the wrapper cannot tell which one a reply is; pick one (string: decoded as UTF-8, Buffer: the bytes)',
    );
  }
  const items = tuples.length > 0 || arrays.length > 0 ? itemsShape(tuples, arrays, path, whole, problems) : undefined;
  return text || items ? { text, items } : undefined;
}

function itemsShape(
  tuples: readonly TypeNode[][],
  arrays: readonly TypeNode[],
  path: string,
  whole: string,
  problems: Set<string>,
): ItemsShape | undefined {
  const length = Math.max(0, ...tuples.map((tuple) => tuple.length));
  const elements: (ReplyShape | undefined)[] = [];
  for (let index = 0; index < length; index++) {
    const here = [...tuples.flatMap((tuple) => (index < tuple.length ? [tuple[index]!] : [])), ...arrays];
    elements.push(positionShape(here, `${path}[${index}]`, whole, problems));
  }
  const rest = arrays.length > 0 ? positionShape(arrays, `${path}[i]`, whole, problems) : undefined;
  // Without a rest, trailing items that need nothing need no code either.
  while (!rest && elements.length > 0 && elements[elements.length - 1] === undefined) elements.pop();
  return elements.length > 0 || rest ? { elements, rest } : undefined;
}
