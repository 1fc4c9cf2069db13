/**
 * The `@return` tag's type: read by the TypeScript parser (so the generated reply type is valid
 * TypeScript, normalized) and kept to what a RESP reply of a Lua script can be, so that the wrapper's
 * declared reply type cannot promise what Redis never sends (a boolean, an object, undefined).
 *
 * @module
 */
import { Node, Project, SyntaxKind, ts, type TypeNode } from 'ts-morph';
import type { ReplyShape } from './model.js';
import { replyDecoding } from './reply-decoding.js';

let returnTypeProject: Project | undefined;

/**
 * Checks an `@return` type with the TypeScript parser and keeps it to what a Lua reply can be.
 * Returns the type as the parser reads it and the decoding its strings need (see `reply-decoding.ts`),
 * or the problems found.
 */
export function checkReturnType(text: string): { type?: string; decoding?: ReplyShape; problems: string[] } {
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
  if (problems.length > 0) return { problems };
  const decoding = replyDecoding(typeNode);
  if (decoding.problems.length > 0) return { problems: decoding.problems };
  return { type: typeNode.getText(), ...(decoding.shape ? { decoding: decoding.shape } : {}), problems };
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
