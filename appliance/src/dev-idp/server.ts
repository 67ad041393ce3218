import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { errors } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { PASSWORD_ACR, RealmUsers } from './accounts.js';
import { generateSigningKeys, parseSigningKeys, publicJwks, type SigningKeys } from './keys.js';
import { INVALID_CREDENTIALS_MESSAGE, renderLoginPage, renderMessagePage } from './pages.js';
import { KEYCLOAK_ROUTES, createKeycloakProvider } from './provider.js';
import { APPLIANCE_CLIENT_ID, realmDefinition, type RealmDefinition } from './realm.js';
import { fetchTrusting, trustedCas } from '../lib/ca-fetch.js';
import { createUserinfoHandler } from './userinfo.js';

export interface DevIdpOptions {
  /** TCP port; 0 takes any free one (tests) */
  port: number;
  /** interface to listen on, and the host name in the issuer URL unless `issuerHost` is given; default 127.0.0.1 */
  host?: string;
  /** host name in the issuer URL when it differs from the listening address (e.g. `idp.kyc.test` → 127.0.0.1) */
  issuerHost?: string;
  /** serve HTTPS with this certificate (PEM, chain allowed) and key; the issuer then starts with `https://` */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** the appliance's public URL (e.g. `https://127.0.0.1:8443`): its redirect URIs are derived from it */
  publicBaseUrl: string;
  /** secret of the confidential `kyc-appliance` client */
  clientSecret: string;
  /** realm signing keys (see keys.ts); fresh ones are generated when absent */
  keys?: SigningKeys;
  /**
   * PEM file of the CA that issued the appliance's HTTPS certificate (read at each call: the appliance may create it
   * after this starts), trusted for back-channel logout calls; without it the system store is used.
   */
  applianceCaFile?: string;
  /** unexpected failures (a 500 was answered); default: written to stderr */
  onError?: (err: unknown) => void;
}

export interface DevIdp {
  /** `http(s)://<issuerHost or host>:<port>/realms/kyc` */
  issuer: string;
  realm: RealmDefinition;
  /**
   * Ends a user's sessions here as Keycloak's admin "Sign out" does: a logout token (OIDC Back-Channel Logout) goes
   * to the appliance client's back-channel logout URL, naming the session (`sid`, when given) and the user (`sub`).
   */
  backchannelLogout(username: string, sid?: string): Promise<void>;
  close(): Promise<void>;
}

const FORM_LIMIT_BYTES = 16 * 1024;
const LOGIN_TIMEOUT_MESSAGE = 'Your login attempt timed out. Login will start from the beginning.';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

class BadForm extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new BadForm(415, 'expected a form submission');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT_BYTES) throw new BadForm(413, 'form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function validateOptions(o: DevIdpOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) problems.push(`port must be 0..65535, got ${o.port}`);
  if (typeof o.clientSecret !== 'string' || o.clientSecret.length < 16) {
    problems.push('clientSecret must be a string of at least 16 characters');
  }
  if (o.issuerHost === undefined && o.host !== undefined && ['0.0.0.0', '::', ''].includes(o.host)) {
    problems.push(`host must be an address clients can reach (it is part of the issuer), not ${JSON.stringify(o.host)}`);
  }
  if (o.issuerHost !== undefined && !/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(o.issuerHost)) {
    problems.push(`issuerHost must be a host name or a bracketed IPv6 address, not ${JSON.stringify(o.issuerHost)}`);
  }
  if (o.tls !== undefined && (!o.tls.cert || !o.tls.key)) problems.push('tls needs both cert and key');
  try {
    realmDefinition({ applianceUrl: o.publicBaseUrl });
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length) throw new TypeError(`dev IdP options: ${problems.join('; ')}`);
}

/**
 * Starts the Keycloak-compatible development/test identity provider for the `kyc` realm. It answers at
 * Keycloak's paths below `/realms/kyc`, signs in through a login page with Keycloak's form ids, issues
 * Keycloak-shaped JWT access tokens, and keeps its sessions in memory.
 */
export async function startDevIdp(o: DevIdpOptions): Promise<DevIdp> {
  validateOptions(o);
  const host = o.host ?? '127.0.0.1';
  const onError = o.onError ?? ((err: unknown) => console.error('dev-idp:', err));
  const realm = realmDefinition({ applianceUrl: o.publicBaseUrl });
  const users = new RealmUsers(realm);
  const keys = o.keys ? parseSigningKeys(o.keys, 'keys option') : await generateSigningKeys();

  let handler: Handler | undefined;
  const listener: RequestListener = (req, res) => {
    if (!handler) {
      sendHtml(res, 503, renderMessagePage(realm.name, 'Starting', 'The identity provider is starting.'));
      return;
    }
    handler(req, res).catch((err: unknown) => {
      onError(err);
      if (res.headersSent) {
        res.destroy();
      } else {
        sendHtml(res, 500, renderMessagePage(realm.name, 'We are sorry...', 'Unexpected error when handling the request.'));
      }
    });
  };
  const server = o.tls ? createTlsServer({ cert: o.tls.cert, key: o.tls.key }, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const realmPath = `/realms/${realm.name}`;
  const issuerHost = o.issuerHost ?? (host.includes(':') ? `[${host}]` : host);
  const issuer = `${o.tls ? 'https' : 'http'}://${issuerHost}:${port}${realmPath}`;

  const close = () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    });

  let provider: Provider;
  try {
    provider = createKeycloakProvider({
      issuer,
      realm,
      users,
      clientSecret: o.clientSecret,
      keys,
      cookieKeys: [randomBytes(32)],
      fetch: (url, init) => (o.applianceCaFile ? fetchTrusting(trustedCas(o.applianceCaFile)) : fetch)(url, init),
    });
    // Static clients are validated lazily; a definition mistake should stop start-up, not the first login.
    for (const client of realm.clients) {
      await provider.Client.find(client.clientId);
    }
  } catch (err) {
    await close();
    throw err;
  }
  provider.on('server_error', (_ctx, err) => onError(err));
  const providerCallback = provider.callback();

  const loginActionsPath = `${realmPath}${KEYCLOAK_ROUTES.loginActions}/`;
  const userinfoPath = `${realmPath}${KEYCLOAK_ROUTES.userinfo}`;
  const userinfo = createUserinfoHandler({ issuer, jwks: publicJwks(keys), users });

  async function loginActions(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    let interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch (err) {
      if (err instanceof errors.SessionNotFound) {
        sendHtml(res, 400, renderMessagePage(realm.name, 'We are sorry...', LOGIN_TIMEOUT_MESSAGE));
        return;
      }
      throw err;
    }
    if (interaction.uid !== uid) {
      sendHtml(res, 400, renderMessagePage(realm.name, 'We are sorry...', LOGIN_TIMEOUT_MESSAGE));
      return;
    }
    const action = `${loginActionsPath}${uid}`;
    if (req.method === 'GET') {
      sendHtml(res, 200, renderLoginPage({ realmName: realm.name, action }));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST' }).end();
      return;
    }
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (err) {
      if (!(err instanceof BadForm)) throw err;
      sendHtml(res, err.status, renderMessagePage(realm.name, 'We are sorry...', err.message));
      return;
    }
    const username = form.get('username') ?? '';
    const user = users.authenticate(username, form.get('password') ?? '');
    if (!user) {
      sendHtml(res, 200, renderLoginPage({ realmName: realm.name, action, username, error: INVALID_CREDENTIALS_MESSAGE }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.id, acr: PASSWORD_ACR, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
  }

  handler = async (req, res) => {
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0] ?? '/';
    if (path.startsWith(loginActionsPath)) {
      const uid = path.slice(loginActionsPath.length);
      if (/^[A-Za-z0-9_-]+$/.test(uid)) {
        await loginActions(req, res, uid);
        return;
      }
    } else if (path === userinfoPath) {
      await userinfo(req, res);
      return;
    } else if (path.startsWith(`${realmPath}/`)) {
      // oidc-provider is mounted at the issuer's path: it sees the rest of the URL, and builds its own
      // absolute URLs from the part it did not see (req.originalUrl, as Express and koa-mount set it).
      Object.assign(req, { originalUrl: rawUrl });
      req.url = rawUrl.slice(realmPath.length);
      await providerCallback(req, res);
      return;
    }
    sendHtml(res, 404, renderMessagePage(realm.name, 'Page not found', 'Page not found'));
  };

  async function backchannelLogout(username: string, sid?: string): Promise<void> {
    const user = realm.users.find((u) => u.username === username);
    if (!user) throw new Error(`no user ${username}`);
    const client = (await provider.Client.find(APPLIANCE_CLIENT_ID)) as unknown as { backchannelLogout(sub: string, sid: string | undefined): Promise<void> } | undefined;
    if (!client) throw new Error('no appliance client');
    await client.backchannelLogout(user.id, sid);
  }

  return { issuer, realm, backchannelLogout, close };
}
