// The contract is in types.ts; NATS types never leave this package.
export type {
  AppendResult,
  ConnectionLogger,
  ConnectOptions,
  HistoryFollow,
  HistoryStore,
  HistoryWatch,
  Inbox,
  InboxMessage,
  InboxOptions,
  Lease,
  LeaseInfo,
  LeaseOptions,
  Leases,
  PublishResultOutcome,
  ReplayOptions,
  Requests,
  Results,
  ResultsWatch,
  SpoolConnection,
  StreamWatch,
  SubmitOutcome,
} from './types.ts';
export type { Claim, Claims, LeaseState } from './claims.ts';
export { claims, poolReplicas, taskOwner } from './claims.ts';
export type { NatsCredentials } from './connect-settings.ts';
export { NatsSettingsError, redactUrl } from './connect-settings.ts';
export { NatsPermissionError, permissionRefusal } from './errors.ts';
export type { AgentGrant, NatsPermissions, PermissionsOptions, Role } from './permissions.ts';
export { defaultInboxPrefix, permissionsFor, ROLES } from './permissions.ts';
export {
  connect,
  isNatsReachable,
  NatsAuthError,
  natsProblem,
  NatsTlsError,
  NatsUnreachableError,
} from './connection.ts';
export { historyStore, keyedHistoryStore } from './history-store.ts';
export type { KeyedCensus, KeyedInstance } from './keyed-census.ts';
export type { KeyedFailure } from './keyed-failures.ts';
export { keyedFailures } from './keyed-failures.ts';
export { keyedApprovals, keyedCensus, keyedInstances } from './keyed-census.ts';
export type { ForgetOutcome } from './keyed-erasure.ts';
export { forgetInstance } from './keyed-erasure.ts';
export type { ForwardedMessage, ForwardOutcome, KeyedForwarding } from './keyed-forward.ts';
export { keyedForwarding } from './keyed-forward.ts';
export type { KeyedOwnership, OwnershipClaim, WakeChange, WakeRecord } from './keyed-ownership.ts';
export { keyedOwnership } from './keyed-ownership.ts';
export { followHistory, watchHistories } from './history-watch.ts';
export { openControl, openInbox, openKeyedControl, openKeyedInbox, openSubscription } from './inbox.ts';
export { inboxPending } from './inbox-pending.ts';
export type { LeaseTermsLogger, LeaseTermsOptions } from './lease-terms.ts';
export { reclaimUnacked, runLeaseTerms } from './lease-terms.ts';
export { leases } from './leases.ts';
export type { ProvisionOptions } from './provision.ts';
export { provision } from './provision.ts';
export { requests } from './requests.ts';
export { results } from './results.ts';
export {
  belowProductionMinimum,
  isOlderThan,
  MIN_PRODUCTION_SERVER,
  warnIfOldServer,
} from './server-version.ts';
export { watchResults } from './results-watch.ts';
export type { PublishOptions, WorkflowStart } from './submit.ts';
export { sendControl, submitTask, submitWorkflow } from './submit.ts';
export type { SnapshotStore, StoredSnapshot } from './snapshot-store.ts';
export { SnapshotUnreadableError, snapshotStore } from './snapshot-store.ts';
export type { LiveText, TextChunk } from './live-text.ts';
export { liveText } from './live-text.ts';
export type { Spend } from './spend.ts';
export { spend } from './spend.ts';
export type { RateCall, RateGrant, RateLimiter } from './rate-limiter.ts';
export { rateLimiter, rateLimitViews } from './rate-limiter.ts';
export { avoidCancelErrorPerRequest } from './request-cancel.ts';
