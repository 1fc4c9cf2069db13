/**
 * The names a script's generated module exports, derived from the script's snake_case name, and the
 * names they must not collide with: every module meets the others in `generated/index.ts`, and the
 * wrapper's parameters share its scope with the script definition.
 *
 * @module
 */
import type { Diagnostic, ScriptModel } from './model.js';

/** Words that cannot name a parameter or a function in an ES module, which is strict-mode code. */
export const RESERVED_WORDS = new Set([
  ...['break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else'],
  ...['enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof'],
  ...['new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void'],
  ...['while', 'with', 'implements', 'interface', 'let', 'package', 'private', 'protected', 'public'],
  ...['static', 'yield', 'await', 'arguments', 'eval'],
]);

/** The wrapper's first parameter: a key or argument of that name would clash with it. */
export const RUNNER_PARAMETER = 'runner';

/** Name exported by `generated/index.ts` besides the scripts' own exports. */
export const ALL_SCRIPTS_NAME = 'allScripts';

/** `remove_many` -> `removeMany`. */
export function camelCase(snakeName: string): string {
  return snakeName.replace(/_+([a-z0-9]?)/g, (_, next: string) => next.toUpperCase());
}

/** The names a script's generated module exports. */
export function exportNames(scriptName: string): { functionName: string; definitionName: string; replyTypeName: string } {
  const functionName = camelCase(scriptName);
  const pascalName = functionName.charAt(0).toUpperCase() + functionName.slice(1);
  return { functionName, definitionName: `${functionName}Script`, replyTypeName: `${pascalName}Reply` };
}

/**
 * Reports generated exports that two scripts would share (e.g. `foo_bar` and `foo__bar`); `indexModule`
 * is the generated index as messages name it.
 */
export function findExportClashes(scripts: readonly ScriptModel[], indexModule = 'generated/index.ts'): Diagnostic[] {
  const owners = new Map<string, string>([[ALL_SCRIPTS_NAME, indexModule]]);
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
