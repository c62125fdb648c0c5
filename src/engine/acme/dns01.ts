import { readTsigKey } from '../../store/certificates/keys.js';
import type { DataPaths } from '../../store/paths.js';
import { parseHostPort } from '../../store/network/routing.js';
import { type UpdateServer, updateServerFor } from '../../store/network/updateServers.js';
import { sendUpdate, txtRdata } from '../dns/update.js';

/** TTL of a challenge record: short, it lives only while the CA checks it. */
const CHALLENGE_TTL = 60;

/** Where records under `name` are published: its zone's update server, signed with its TSIG key. */
export async function updateTarget(paths: DataPaths, servers: readonly UpdateServer[], name: string) {
  const u = updateServerFor(servers, name);
  if (!u) throw new Error(`no update server is configured for a zone that holds ${name} (dnsconfig update-server ZONE ADDR --tsig-key-file FILE)`);
  const { host, port } = parseHostPort(u.server, 53);
  return { zone: u.zone, server: { host, port }, key: await readTsigKey(paths, u.keyRef) };
}

/**
 * ACME DNS-01 (RFC 8555 §8.4): the TXT record `_acme-challenge.NAME` with the challenge's digest,
 * added by dynamic update to the zone's primary; the returned function deletes exactly that record.
 */
export async function publishDns01(paths: DataPaths, servers: readonly UpdateServer[], name: string, value: string): Promise<() => Promise<void>> {
  const owner = `_acme-challenge.${name.replace(/^\*\./, '')}`;
  const { zone, server, key } = await updateTarget(paths, servers, owner);
  const rdata = txtRdata(value);
  await sendUpdate(server, zone, [{ op: 'add', name: owner, type: 'TXT', ttl: CHALLENGE_TTL, rdata }], key);
  return () => sendUpdate(server, zone, [{ op: 'delete', name: owner, type: 'TXT', rdata }], key);
}
