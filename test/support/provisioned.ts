/** Every stream and KV bucket `provision` creates, in its order (tests check each one's replicas). */
export const PROVISIONED = [
  'SPOOL_INBOX',
  'SPOOL_HISTORY',
  'SPOOL_KEYED',
  'SPOOL_RESULTS',
  'KV_spool_leases',
  'KV_spool_claims',
  'KV_spool_snapshots',
  'KV_spool_keyed',
  'KV_spool_spend',
  'KV_spool_rates',
];
