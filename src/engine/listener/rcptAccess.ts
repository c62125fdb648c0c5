import { domainEntrySet } from '../../store/domainMatch.js';

/**
 * Recipient access table: may a listener accept mail for this address? Entries are domains,
 * ".domain" for every subdomain, or ALL. An empty table accepts nothing (no open relay). Compiled
 * once (a listener does at each commit): a RCPT does not pay for the table's size.
 */
export function compileRecipientAccess(table: readonly string[]): (address: string) => boolean {
  const all = table.some((entry) => entry.toLowerCase() === 'all');
  const domains = domainEntrySet(table);
  return (address) => {
    const at = address.lastIndexOf('@');
    if (at < 0) return false;
    return all || domains.covers(address.slice(at + 1).replace(/^\[|\]$/g, ''));
  };
}
