import { readFileSync } from 'node:fs';
import {
  type Authenticator,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';

/** How a client proves who it is, and the TLS files it uses, as the NATS tools name them. */
export interface NatsCredentials {
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
  /** A `.creds` file (the user's JWT and NKey seed). */
  readonly credsFile?: string | undefined;
  /** A file holding an NKey seed. */
  readonly nkeySeedFile?: string | undefined;
  readonly tls?: {
    readonly caFile?: string | undefined;
    readonly certFile?: string | undefined;
    readonly keyFile?: string | undefined;
  };
}

/** A bad credential setting: a file that cannot be read, a URL that is not one. */
export class NatsSettingsError extends Error {
  override readonly name = 'NatsSettingsError';
}

/** The NATS client's connection options that carry who we are and how we talk. */
export interface ClientAuthOptions {
  readonly servers: string[];
  readonly authenticator?: Authenticator | Authenticator[];
  readonly tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** How the credentials are given, for messages that must never show them ("user and password"). */
  readonly method: string;
}

/**
 * The servers of `url` (comma-separated, as NATS_URL lists a cluster) with any `user:pass@` or
 * `token@` taken out of them (the client does not read userinfo from a URL), and the client's
 * authenticators and TLS files. Explicit credentials win over a URL's userinfo.
 */
export function clientAuthOptions(url: string, credentials: NatsCredentials = {}): ClientAuthOptions {
  const servers: string[] = [];
  let fromUrl: { user: string; password?: string } | undefined;
  let wantsTls = false;
  for (const raw of url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const parsed = parseServer(raw);
    servers.push(parsed.server);
    fromUrl ??= parsed.userinfo;
    wantsTls ||= parsed.tls;
  }
  if (servers.length === 0)
    throw new NatsSettingsError('NATS_URL names no server: set it to nats://host:port');
  const authenticators: Authenticator[] = [];
  const methods: string[] = [];
  const user = credentials.user ?? (credentials.token === undefined ? fromUrl?.user : undefined);
  const password = credentials.password ?? (credentials.user === undefined ? fromUrl?.password : undefined);
  if (user !== undefined && password !== undefined) {
    authenticators.push(usernamePasswordAuthenticator(user, password));
    methods.push(credentials.user === undefined ? 'user and password from the URL' : 'user and password');
  } else if (credentials.token !== undefined || user !== undefined) {
    // `nats://<token>@host` is how NATS URLs carry a token.
    authenticators.push(tokenAuthenticator(credentials.token ?? (user as string)));
    methods.push(credentials.token === undefined ? 'token from the URL' : 'token');
  }
  if (credentials.credsFile !== undefined) {
    authenticators.push(credsAuthenticator(readSecretFile(credentials.credsFile, 'NATS_CREDS (nats.creds)')));
    methods.push(`creds file ${credentials.credsFile}`);
  }
  if (credentials.nkeySeedFile !== undefined) {
    const seed = readSecretFile(credentials.nkeySeedFile, 'NATS_NKEY (nats.nkey)');
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(new TextDecoder().decode(seed).trim())));
    methods.push(`nkey seed file ${credentials.nkeySeedFile}`);
  }
  const files = credentials.tls ?? {};
  for (const [name, file] of Object.entries(files))
    if (file !== undefined) readSecretFile(file, `NATS_${name.replace('File', '').toUpperCase()} (nats.tls)`);
  const tls =
    wantsTls || Object.values(files).some((f) => f !== undefined)
      ? Object.fromEntries(Object.entries(files).filter(([, f]) => f !== undefined))
      : undefined;
  return {
    servers,
    ...(authenticators.length === 0
      ? {}
      : { authenticator: authenticators.length === 1 ? authenticators[0] : authenticators }),
    ...(tls === undefined ? {} : { tls }),
    method: methods.length === 0 ? 'no credentials' : methods.join(' + '),
  };
}

/** `url` (one server or a comma-separated list) with every userinfo replaced by `***`: safe to show. */
export function redactUrl(url: string): string {
  return url
    .split(',')
    .map((server) => server.trim().replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@'))
    .join(',');
}

function parseServer(raw: string): {
  server: string;
  userinfo?: { user: string; password?: string };
  tls: boolean;
} {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `nats://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new NatsSettingsError(
      `NATS_URL: "${redactUrl(raw)}" is not a server URL (nats://host:port, tls://host:port)`,
    );
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!['nats', 'tls', 'ws', 'wss'].includes(scheme))
    throw new NatsSettingsError(`NATS_URL: "${redactUrl(raw)}" has scheme ${scheme}:; use nats:// or tls://`);
  const userinfo =
    parsed.username === ''
      ? undefined
      : {
          user: decodeURIComponent(parsed.username),
          ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
        };
  const server = `${scheme}://${parsed.host}`;
  return { server, ...(userinfo === undefined ? {} : { userinfo }), tls: scheme === 'tls' };
}

function readSecretFile(path: string, setting: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unreadable';
    throw new NatsSettingsError(`${setting}: cannot read ${path} (${code}): point it at the file`);
  }
}
