import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMITTED_EXPORT_DIR, USER_PROFILE_PROVIDER, keycloakRealmExport, realmExportFiles } from '../../src/dev-idp/keycloak-realm-export.js';
import { APPLIANCE_CLIENT_ID, CLI_CLIENT_ID, DEV_APPLIANCE_URL, realmDefinition } from '../../src/dev-idp/realm.js';

const realm = realmDefinition({ applianceUrl: DEV_APPLIANCE_URL });

t.test('the committed exports are what the generator makes from realm.ts', async (t) => {
  const files = realmExportFiles(realm);
  t.same(
    files.map((f) => f.name),
    ['realm-kyc.json', 'realm-kyc-test.json'],
  );
  for (const file of files) {
    const committed = await readFile(join(COMMITTED_EXPORT_DIR, file.name), 'utf8');
    t.equal(committed, file.content, `${file.name} is up to date (regenerate: node appliance/dist/dev-idp/export-realm.js)`);
  }
});

t.test('production export: realm, roles, the appliance client with PKCE and audience mapper; no users, no test client', async (t) => {
  const out = keycloakRealmExport(realm, { includeTestClient: false });
  t.equal(out.realm, 'kyc');
  t.equal(out.enabled, true);
  t.same(
    out.roles.realm.map((r) => r.name),
    ['teller', 'auditor', 'admin'],
  );
  t.same(
    out.clients.map((c) => c.clientId),
    [APPLIANCE_CLIENT_ID],
  );
  t.equal(out.users, undefined, 'no users');
  const text = JSON.stringify(out);
  for (const user of realm.users) {
    t.notOk(text.includes(`"${user.username}"`), `${user.username} absent`);
  }
  t.notOk(text.includes('credentials'), 'no credentials anywhere');

  const app = out.clients[0]!;
  t.equal(app.publicClient, false);
  t.equal(app.clientAuthenticatorType, 'client-secret');
  t.equal(app.standardFlowEnabled, true);
  t.equal(app.directAccessGrantsEnabled, false);
  t.same(app.redirectUris, ['https://127.0.0.1:8443/auth/callback']);
  t.same(app.attributes, {
    'pkce.code.challenge.method': 'S256',
    'post.logout.redirect.uris': 'https://127.0.0.1:8443/',
    'backchannel.logout.url': 'https://127.0.0.1:8443/auth/backchannel-logout',
    'backchannel.logout.session.required': 'true',
    'backchannel.logout.revoke.offline.tokens': 'false',
  });
  t.same(
    app.protocolMappers.map((m) => [m.protocolMapper, m.config['included.client.audience'], m.config['access.token.claim']]),
    [
      ['oidc-audience-mapper', APPLIANCE_CLIENT_ID, 'true'],
      ['oidc-usermodel-attribute-mapper', undefined, 'true'],
    ],
  );
  t.same(
    app.protocolMappers[1]?.config,
    {
      'user.attribute': 'branch',
      'claim.name': 'branch',
      'jsonType.label': 'String',
      'id.token.claim': 'true',
      'access.token.claim': 'true',
      'userinfo.token.claim': 'true',
    },
    "the user attribute `branch` becomes the tokens' branch claim",
  );
  t.notOk('secret' in app, 'Keycloak generates the secret on import');
});

t.test('test export adds kyc-cli (public, direct access) and the users with roles and passwords', async (t) => {
  const out = keycloakRealmExport(realm, { includeTestClient: true });
  const cli = out.clients.find((c) => c.clientId === CLI_CLIENT_ID);
  t.ok(cli, 'kyc-cli present');
  t.equal(cli?.publicClient, true);
  t.equal(cli?.standardFlowEnabled, false);
  t.equal(cli?.directAccessGrantsEnabled, true);
  t.same(
    cli?.protocolMappers.map((m) => m.config['included.client.audience']),
    [APPLIANCE_CLIENT_ID, undefined],
    'its tokens are for the appliance too (and carry the branch)',
  );
  t.same(out.users?.find((u) => u.username === 'teller1')?.attributes, { branch: ['北京分行营业部'] }, "a teller's branch is a user attribute");
  t.same(
    out.users?.map((u) => [u.username, u.realmRoles, u.credentials[0]?.value, u.enabled, u.emailVerified]),
    [
      ['teller1', ['teller'], 'teller1', true, true],
      ['teller2', ['teller'], 'teller2', true, true],
      ['auditor1', ['auditor'], 'auditor1', true, true],
      ['admin1', ['admin'], 'admin1', true, true],
      ['teller_auditor1', ['teller', 'auditor'], 'teller_auditor1', true, true],
    ],
  );
  t.ok(
    out.users?.every((u) => u.firstName && u.lastName && u.email),
    'complete profiles: no "update profile" step at first sign-in',
  );
});

t.test('redirect URIs follow the appliance URL; several post-logout URIs would be joined with ##', async (t) => {
  const other = realmDefinition({ applianceUrl: 'https://kyc.bank.example:9443/' });
  const out = keycloakRealmExport(other, { includeTestClient: false });
  t.same(out.clients[0]?.redirectUris, ['https://kyc.bank.example:9443/auth/callback']);
  t.equal(out.clients[0]?.attributes['post.logout.redirect.uris'], 'https://kyc.bank.example:9443/');

  const twoUris = {
    ...other,
    clients: other.clients.map((c) => ({ ...c, postLogoutRedirectUris: ['https://a.example/', 'https://b.example/'] })),
  };
  t.equal(keycloakRealmExport(twoUris, { includeTestClient: false }).clients[0]?.attributes['post.logout.redirect.uris'], 'https://a.example/##https://b.example/');
});

t.test('an appliance URL with a query, or not http(s), is refused', async (t) => {
  t.throws(() => realmDefinition({ applianceUrl: 'ftp://host/' }), /absolute http\(s\) URL/);
  t.throws(() => realmDefinition({ applianceUrl: 'https://host/?x=1' }), /absolute http\(s\) URL/);
  t.throws(() => realmDefinition({ applianceUrl: 'not a url' }), /absolute http\(s\) URL/);
});

t.test('Keycloak 26 user profile: both exports declare `branch` (admin-edited), and the dev users carry it', async (t) => {
  for (const file of ['realm-kyc.json', 'realm-kyc-test.json']) {
    const committed = JSON.parse(await readFile(join(COMMITTED_EXPORT_DIR, file), 'utf8')) as {
      components?: Record<string, Array<{ providerId: string; config: Record<string, string[]> }>>;
    };
    const providers = committed.components?.[USER_PROFILE_PROVIDER] ?? [];
    t.equal(providers.length, 1, `${file}: one user-profile component`);
    t.equal(providers[0]?.providerId, 'declarative-user-profile');
    const text = providers[0]?.config['kc.user.profile.config'];
    t.equal(text?.length, 1, 'the profile as one JSON text');
    const profile = JSON.parse(text![0]!) as {
      attributes: Array<{ name: string; permissions: { view: string[]; edit: string[] }; multivalued: boolean }>;
      unmanagedAttributePolicy?: string;
    };
    t.same(
      profile.attributes.map((a) => a.name),
      ['username', 'email', 'firstName', 'lastName', 'branch'],
      `${file}: Keycloak's own attributes kept, branch declared`,
    );
    t.match(
      profile.attributes.find((a) => a.name === 'branch'),
      { permissions: { view: ['admin', 'user'], edit: ['admin'] }, multivalued: false },
      'users see their branch; only realm admins set it',
    );
    t.equal(profile.unmanagedAttributePolicy, undefined, 'undeclared attributes stay refused');
  }
  const test = JSON.parse(await readFile(join(COMMITTED_EXPORT_DIR, 'realm-kyc-test.json'), 'utf8')) as {
    users: Array<{ username: string; realmRoles: string[]; attributes?: { branch?: string[] } }>;
  };
  const tellers = test.users.filter((u) => u.realmRoles.includes('teller'));
  t.ok(tellers.length > 0);
  for (const u of tellers) t.match(u.attributes?.branch, [/\S/], `${u.username} has a branch`);
  t.same(
    test.users.filter((u) => u.attributes?.branch).map((u) => u.username),
    realm.users.filter((u) => u.branch).map((u) => u.username),
    'every dev user with a branch in realm.ts has it in the export',
  );
});
