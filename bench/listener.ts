/**
 * The listener the throughput benches measure: certificate "ec" (ec.pem and ec.key written to the
 * configuration folder first), TLS Preferred, and limits that never turn the load generator away.
 */
export const benchListener = [
  'certconfig paste ec --cert ec.pem --key ec.key',
  'listenerconfig edit InboundMail certificate ec',
  'listenerconfig edit InboundMail hostaccess default --tls preferred --max-concurrency 1000 --max-messages 1000',
  'listenerconfig edit InboundMail hostaccess policy ACCEPTED --tls preferred --max-concurrency 1000 --max-messages 1000',
  'listenerconfig edit InboundMail limits --max-concurrency 1000',
];
