/** FQDN check used by the "check if Common Name is in FQDN format" questions. */
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isFqdn(name: string, { allowWildcard = true } = {}): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > 253) return false;
  const labels = n.split('.');
  if (labels.length < 2) return false;
  return labels.every((l, i) => (allowWildcard && i === 0 && l === '*') || LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

export const ISO_COUNTRY = /^[A-Z]{2}$/;
