// The characters Redis' glob matcher (SCAN MATCH) gives a meaning: `*`, `?`, `[...]` and the escape itself.
const GLOB_SPECIAL = /[*?[\]\\]/g;

/** `text` as a glob that matches exactly `text`: every special character escaped with a backslash. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_SPECIAL, '\\$&');
}
