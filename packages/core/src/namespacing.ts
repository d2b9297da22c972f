/**
 * Namespaces let several Spool installations (staging and production, two teams) share one NATS
 * account: every subject gets the namespace as its first token and every stream and bucket name
 * a suffix. Everything above the NATS adapter speaks the logical names (`spool.inbox.<agent>`,
 * `SPOOL_INBOX`); the adapter maps them here at the wire, both ways.
 */
export interface Namespacing {
  readonly namespace: string | undefined;
  /** `spool.inbox.a` → `<ns>.spool.inbox.a` (unchanged without a namespace). */
  subject(logical: string): string;
  /** The inverse of `subject`; a subject outside the namespace is returned as is. */
  logical(wire: string): string;
  /** `SPOOL_INBOX` → `SPOOL_INBOX_<NS>`. */
  stream(name: string): string;
  /** `spool_leases` → `spool_leases_<ns>`. */
  bucket(name: string): string;
}

export function namespacing(namespace?: string): Namespacing {
  if (namespace === undefined || namespace === '') {
    const same = (name: string) => name;
    return { namespace: undefined, subject: same, logical: same, stream: same, bucket: same };
  }
  const prefix = `${namespace}.`;
  return {
    namespace,
    subject: (logical) => `${prefix}${logical}`,
    logical: (wire) => (wire.startsWith(prefix) ? wire.slice(prefix.length) : wire),
    stream: (name) => `${name}_${namespace.toUpperCase().replace(/-/g, '_')}`,
    bucket: (name) => `${name}_${namespace.replace(/-/g, '_')}`,
  };
}
