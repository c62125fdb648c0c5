/**
 * Recipient access table: may a listener accept mail for this address? Entries are domains,
 * ".domain" for every subdomain, or ALL. An empty table accepts nothing (no open relay).
 */
export function recipientAllowed(table: readonly string[], address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at < 0) return false;
  const domain = address.slice(at + 1).toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return table.some((entry) => {
    const e = entry.toLowerCase();
    if (e === 'all') return true;
    return e.startsWith('.') ? domain.endsWith(e) : domain === e;
  });
}
