/**
 * The one order the generator sorts names in, shared by emission and the directory check.
 *
 * @module
 */

/** Code-unit order, not locale order, so that output does not depend on the machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
