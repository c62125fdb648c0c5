/** The policies of the delivery security chain, by name (as the mail log and tlsverify print them). */
export type PolicyName = 'destination control' | 'DANE' | 'MTA-STS' | 'REQUIRETLS';

/** What authenticated a peer: the CA lists (destination control), DANE, or MTA-STS's PKIX check. */
export type Voucher = 'CA' | 'DANE' | 'MTA-STS';

/** A policy's verdict on a session: who vouched for it (and how, for DANE), or why it failed. */
export type Judgement = { ok: true; by: Voucher; how?: string } | { ok: false; reason: string };

/** A verdict as the mail log writes it: "DANE: <how>", "CA", "MTA-STS". */
export function vouchedBy(judgement: { by: Voucher; how?: string }): string {
  return judgement.how ? `${judgement.by}: ${judgement.how}` : judgement.by;
}
