import { entryCovers } from '../../store/domainMatch.js';

/**
 * Recipient access table: may a listener accept mail for this address? Entries are domains,
 * ".domain" for every subdomain, or ALL. An empty table accepts nothing (no open relay).
 */
export function recipientAllowed(table: readonly string[], address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at < 0) return false;
  const domain = address.slice(at + 1).replace(/^\[|\]$/g, '');
  return table.some((entry) => entry.toLowerCase() === 'all' || entryCovers(entry, domain));
}
