/**
 * Host name matching for peer certificates (RFC 6125 §6.4, RFC 2818 §3.1): case-insensitive, a
 * trailing dot ignored, "*" only as the whole left-most label, matching exactly one label.
 */
export function nameMatches(presented: string, reference: string): boolean {
  const p = presented.toLowerCase().replace(/\.$/, '');
  const r = reference.toLowerCase().replace(/\.$/, '');
  if (!p || !r) return false;
  if (!p.includes('*')) return p === r;
  const [first, ...rest] = p.split('.');
  if (first !== '*' || rest.length < 2 || rest.some((l) => l.includes('*'))) return false;
  const [rFirst, ...rRest] = r.split('.');
  return rFirst !== undefined && rFirst.length > 0 && rRest.join('.') === rest.join('.');
}
