/** Free text an administrator types (commit comments, organization names) that others will see. */

const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** Does the text hold a control character (a terminal escape, a line break, a NUL)? */
export const hasControlCharacters = (text: string): boolean => CONTROL.test(text);

/** The text with every control character shown as \xNN, for output of text stored before it was checked. */
export const escapeControls = (text: string): string => text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** A list for a message: the first `max` items, then how many more ("a, b, c and 9997 more"). */
export function shortList(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
