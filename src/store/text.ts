/** Free text an administrator types (commit comments, organization names) that others will see. */

/**
 * C0 and C1 controls, and the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069): those make a comment or a name read differently on screen than it is ("Trojan
 * Source"), so they are refused like terminal escapes.
 */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** Does the text hold a control character (a terminal escape, a line break, a NUL, a bidirectional override)? */
export const hasControlCharacters = (text: string): boolean => CONTROL.test(text);

/** The longest commit comment, in characters. */
export const MAX_COMMENT_CHARS = 1000;

/** The text with every control character shown as \xNN (\uNNNN for the bidirectional ones), for output of text stored before it was checked. */
export const escapeControls = (text: string): string =>
  text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });

/** A list for a message: the first `max` items, then how many more ("a, b, c and 9997 more"). */
export function shortList(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
