// The install scenario behind `make test-install` and ansible/test/install.test.ts: a real install of the release
// bundle with ansible/site.yml and the single-host inventory into a booted Debian 12 container (air-gapped: its
// packages are staged in apt's cache, its network is loopback only), then the checks the issue lists.
// Every step throws with the output that explains it when something is wrong; the result carries what was measured.
import { chmod, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createCaCertificate, createServerCertificate, newRsaKey } from '../../appliance/src/pki/certificate-authority.js';
import { newCaseBody } from '../../appliance/test/helpers/appliance.js';
import { CONTAINER_ENV, Container, must, run } from './harness/container.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FQDN = 'app.kyc.test';
const IDP_HOST = 'idp.kyc.test';
const IDP_PORT = 8180;
const APP_PORT = 8443;
/** Every service unit in systemd/ (the exposure target applies to each) and the backup role's unit. */
export const UNITS = ['kyc-appliance', 'kyc-worker', 'kyc-janus', 'kyc-migrate', 'kyc-checkpoint-ship', 'kyc-backup'] as const;
const ACTIVE_UNITS = ['kyc-appliance.service', 'kyc-worker.service', 'kyc-janus.service', 'kyc-checkpoint-ship.timer', 'kyc-backup.timer', 'postgresql@15-main.service'];

export interface InstallResult {
  install_s: number;
  second_run_changed: number;
  units: Record<string, number>;
  upgrade_ok: boolean;
  restore_ok: boolean;
}

/** A check the scenario made: the tap test asserts each one, `make test-install` prints them. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioOptions {
  /** progress lines (stderr for make test-install, tap comments for the test) */
  log: (line: string) => void;
  /** keep the work folder (logs, inventories) for inspection */
  keep?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pki {
  caPem: string;
  caFile: string;
  app: { cert: string; key: string };
  idpCertFile: string;
  idpKeyFile: string;
}

async function makePki(dir: string): Promise<Pki> {
  const caKey = newRsaKey().privatePem;
  const caPem = createCaCertificate('KYC install test CA', caKey, [FQDN, IDP_HOST]);
  const appKey = newRsaKey().privatePem;
  const idpKey = newRsaKey().privatePem;
  const caFile = join(dir, 'test-ca.crt');
  await writeFile(caFile, caPem);
  const idpCertFile = join(dir, 'idp.crt');
  const idpKeyFile = join(dir, 'idp.key');
  await writeFile(idpCertFile, createServerCertificate([IDP_HOST], idpKey, caPem, caKey));
  await writeFile(idpKeyFile, idpKey, { mode: 0o600 });
  return { caPem, caFile, app: { cert: createServerCertificate([FQDN], appKey, caPem, caKey), key: appKey }, idpCertFile, idpKeyFile };
}

/**
 * Builds a release bundle into `out` from the build already made (`make test` and `make test-install` build first)
 * and returns the tarball's path: the release script alone, as `make release` runs it, so that nothing rewrites the
 * build while the rest of the suite runs from it. The upgrade's bundle is the same code under a new version.
 */
async function buildBundle(version: string, out: string): Promise<string> {
  const env = { ...process.env, RELEASE_OUT: out, VERSION: version };
  const stdout = await must('bash', [join(REPO, 'appliance/scripts/release.sh')], { env, cwd: REPO });
  const path = stdout
    .trim()
    .split('\n')
    .filter((l) => l.endsWith('.tar.gz'))
    .pop();
  if (!path) throw new Error(`the release script printed no bundle path:\n${stdout}`);
  return path;
}

function recapChanged(output: string): number {
  let changed = 0;
  for (const m of output.matchAll(/^\S+\s+:\s+ok=\d+\s+changed=(\d+)/gm)) changed += Number(m[1]);
  return changed;
}

class Site {
  readonly container: Container;
  private idp: ChildProcess | null = null;
  constructor(
    container: Container,
    private readonly work: string,
    private readonly pki: Pki,
    private readonly secrets: Record<string, string>,
    private readonly log: (l: string) => void,
  ) {
    this.container = container;
  }

  /** The test's identity provider: the dev IdP from this checkout, HTTPS with the test CA, in the container's network. */
  async startIdp(): Promise<void> {
    const secretFile = join(this.work, 'oidc-client-secret');
    await writeFile(secretFile, `${this.secrets.oidc}\n`, { mode: 0o600 });
    this.idp = this.container.spawnInNet(
      [
        process.execPath,
        join(REPO, 'appliance/dist/dev-idp/main.js'),
        '--host',
        '127.0.0.1',
        '--port',
        String(IDP_PORT),
        '--issuer-host',
        IDP_HOST,
        '--tls-cert-file',
        this.pki.idpCertFile,
        '--tls-key-file',
        this.pki.idpKeyFile,
        '--public-url',
        `https://${FQDN}:${APP_PORT}`,
        '--client-secret-file',
        secretFile,
        '--data-dir',
        join(this.work, 'idp'),
      ],
      join(this.work, `idp-${this.container.name}.log`),
    );
    for (let i = 0; i < 100; i++) {
      const r = await this.curl([`https://${IDP_HOST}:${IDP_PORT}/realms/kyc/.well-known/openid-configuration`]);
      if (r.status === 200) return;
      await sleep(200);
    }
    throw new Error('the test IdP did not answer');
  }

  /** curl from this host inside the container's network, trusting only the test CA; names resolve to its loopback. */
  async curl(args: string[]): Promise<{ status: number; body: string }> {
    const r = await this.container.inNet([
      'curl',
      '-s',
      '--max-time',
      '20',
      '--cacert',
      this.pki.caFile,
      '--resolve',
      `${FQDN}:${APP_PORT}:127.0.0.1`,
      '--resolve',
      `${IDP_HOST}:${IDP_PORT}:127.0.0.1`,
      '-w',
      '\n%{http_code}',
      ...args,
    ]);
    const i = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(i, 0)) };
  }

  async token(username: string): Promise<string> {
    const r = await this.curl([
      '-d',
      'grant_type=password',
      '-d',
      'client_id=kyc-cli',
      '-d',
      `username=${username}`,
      '-d',
      `password=${username}`,
      `https://${IDP_HOST}:${IDP_PORT}/realms/kyc/protocol/openid-connect/token`,
    ]);
    if (r.status !== 200) throw new Error(`password grant for ${username}: ${r.status} ${r.body}`);
    return (JSON.parse(r.body) as { access_token: string }).access_token;
  }

  api(path: string, token: string, body?: unknown): Promise<{ status: number; body: string }> {
    const args = ['-H', `authorization: Bearer ${token}`];
    if (body !== undefined) args.push('-H', 'content-type: application/json', '-H', `origin: https://${FQDN}:${APP_PORT}`, '--data-binary', JSON.stringify(body));
    return this.curl([...args, `https://${FQDN}:${APP_PORT}${path}`]);
  }

  /** ansible-playbook with the single-host inventory, over the nsenter connection (ansible/test/connection_plugins) into this container. */
  async playbook(playbook: string, extra: Record<string, unknown>, tags: string[] = []): Promise<{ seconds: number; changed: number; output: string }> {
    // The connection is a host variable of kyc1 in a second inventory: as an extra variable it would also apply to
    // tasks delegated to the controller (the certificate checks).
    const connection = join(this.work, `connection-${this.container.name}.yml`);
    await writeFile(
      connection,
      `all:\n  hosts:\n    kyc1:\n      ansible_connection: kyc_nsenter\n      ansible_nsenter_pid: ${this.container.pid}\n      ansible_python_interpreter: /usr/bin/python3\n`,
    );
    const vars = {
      kyc_appliance_fqdn: FQDN,
      kyc_appliance_listen_port: APP_PORT,
      kyc_appliance_tls_cert: this.pki.app.cert,
      kyc_appliance_tls_key: this.pki.app.key,
      kyc_appliance_tls_ca: this.pki.caPem,
      kyc_appliance_oidc_issuer: `https://${IDP_HOST}:${IDP_PORT}/realms/kyc`,
      kyc_appliance_oidc_ca: this.pki.caPem,
      kyc_appliance_oidc_client_secret: this.secrets.oidc,
      kyc_appliance_audit_origin: `${FQDN}/audit`,
      kyc_appliance_branch_networks: ['127.0.0.0/8'],
      // Air-gapped: the packages are staged in apt's cache; the container has no network to refresh lists with.
      kyc_postgresql_apt_update_cache: false,
      kyc_janus_apt_update_cache: false,
      kyc_appliance_apt_update_cache: false,
      // The test machine's kernel clock is not NTP-disciplined (adjtimex reports it unsynchronised), and a
      // container shares that clock: the check is exercised on real servers, not here.
      kyc_preflight_require_clock_sync: false,
      kyc_preflight_min_memory_mb: 1024,
      kyc_preflight_min_disk_gb: 2,
      ...extra,
    };
    const varsFile = join(this.work, `vars-${randomBytes(4).toString('hex')}.json`);
    await writeFile(varsFile, JSON.stringify(vars), { mode: 0o600 });
    const started = Date.now();
    // `env -u NODE_OPTIONS`: tap adds its own to every process a test spawns (see Container.exec)
    const r = await run(
      'env',
      [
        '-u',
        'NODE_OPTIONS',
        'ansible-playbook',
        '-i',
        join(REPO, 'ansible/inventories/single-host'),
        '-i',
        connection,
        join(REPO, 'ansible', playbook),
        '-e',
        `@${varsFile}`,
        ...(tags.length ? ['--tags', tags.join(',')] : []),
      ],
      {
        env: {
          // this host's PATH for ansible itself; nothing else of a test runner's environment (its NODE_OPTIONS would
          // reach the appliance's Node.js through the nsenter connection)
          ...CONTAINER_ENV,
          PATH: process.env['PATH'],
          ANSIBLE_CONNECTION_PLUGINS: join(REPO, 'ansible/test/connection_plugins'),
          ANSIBLE_PIPELINING: 'true',
          ANSIBLE_FORCE_COLOR: 'false',
          ANSIBLE_NOCOLOR: 'true',
          ANSIBLE_RETRY_FILES_ENABLED: 'false',
          ANSIBLE_HOST_KEY_CHECKING: 'false',
          // each task's duration in the kept log, the slowest listed at the end
          ANSIBLE_CALLBACKS_ENABLED: 'ansible.posix.profile_tasks',
        },
        // a bound for a machine busy with the rest of the suite; the figure that matters is install_s
        timeoutMs: 1_800_000,
      },
    );
    const seconds = (Date.now() - started) / 1000;
    await writeFile(join(this.work, `ansible-${this.container.name}-${Date.now()}.log`), r.stdout + r.stderr);
    if (r.code !== 0) throw new Error(`ansible-playbook ${playbook} failed (${r.code}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
    return { seconds, changed: recapChanged(r.stdout), output: r.stdout };
  }

  async stopIdp(): Promise<void> {
    if (this.idp && this.idp.exitCode === null) {
      this.idp.kill('SIGTERM');
      await new Promise((r) => this.idp!.once('exit', r));
    }
  }
}

/** Audit events and sequenced leaves counted in the container's database, given a few seconds to catch up. */
async function everyEventSequenced(c: Container): Promise<{ ok: boolean; detail: string }> {
  let detail = '';
  for (let i = 0; i < 20; i++) {
    const r = await c.exec(['runuser', '-u', 'postgres', '--', 'psql', '-X', '-d', 'kyc', '-tAc', 'SELECT (SELECT count(*) FROM audit_event), (SELECT count(*) FROM audit_leaf)']);
    const [events, leaves] = r.stdout.trim().split('|').map(Number);
    detail = `${events} events, ${leaves} leaves ${r.stderr.trim()}`;
    if (r.code === 0 && events! > 1 && events === leaves) return { ok: true, detail };
    await sleep(500);
  }
  return { ok: false, detail };
}

export async function runInstallScenario(opts: ScenarioOptions): Promise<{ result: InstallResult; checks: Check[] }> {
  const { log } = opts;
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail = '') => {
    checks.push({ name, ok, detail });
    log(`${ok ? 'ok' : 'NOT OK'}: ${name}${detail ? ` — ${detail}` : ''}`);
    return ok;
  };
  const work = await mkdtemp(join(tmpdir(), 'kyc-install-test-'));
  await chmod(work, 0o700);
  const sites: Site[] = [];
  try {
    log(`work folder ${work}`);
    await must(join(REPO, 'ansible/test/system-packages.sh'), [], { timeoutMs: 900_000 });
    const image = (await must(join(REPO, 'ansible/test/rootfs.sh'), [], { timeoutMs: 1_800_000 })).trim().split('\n').pop()!;
    log(`Debian 12 root: ${image}`);
    const base = (JSON.parse(await readFile(join(REPO, 'appliance/package.json'), 'utf8')) as { version: string }).version;
    const stamp = Date.now().toString(36);
    const v1 = `${base}-t${stamp}.1`;
    const v2 = `${base}-t${stamp}.2`;
    const bundle1 = await buildBundle(v1, join(work, 'dist'));
    log(`bundle ${bundle1}`);
    const pki = await makePki(work);
    const secrets = { oidc: randomBytes(24).toString('base64url') };
    const containers = join(work, 'containers');
    await mkdir(containers);

    const boot = async (label: string) => {
      const c = await Container.boot(image, containers, [FQDN, IDP_HOST], join(work, `console-${label}.log`));
      const site = new Site(c, work, pki, secrets, log);
      sites.push(site);
      await site.startIdp();
      return site;
    };

    // 1. Install.
    const a = await boot('a');
    log(`container ${a.container.name} booted (pid ${a.container.pid}); installing ${v1}`);
    const install = await a.playbook('site.yml', { kyc_appliance_bundle: bundle1 });
    log(`install took ${install.seconds.toFixed(1)} s`);

    for (const unit of ACTIVE_UNITS) {
      const r = await a.container.exec(['systemctl', 'is-active', unit]);
      check(`${unit} active`, r.stdout.trim() === 'active', r.stdout.trim());
    }
    const ready = await a.curl([`https://${FQDN}:${APP_PORT}/readyz`]);
    check('/readyz 200 over HTTPS with the configured certificate (test CA)', ready.status === 200, `${ready.status} ${ready.body}`);
    const teller = await a.token('teller1');
    const me = await a.api('/api/me', teller);
    check('a password-grant token reaches /api/me', me.status === 200 && me.body.includes('teller1'), `${me.status} ${me.body.slice(0, 200)}`);

    const asApp = (sql: string, role: string) => a.container.exec(['runuser', '-u', 'kyc-app', '--', 'psql', '-X', '-w', '-h', '/var/run/postgresql', '-U', role, '-d', 'kyc', '-tAc', sql]);
    const appOk = await asApp('SELECT current_user', 'kyc_app');
    const ownerTry = await asApp('SELECT current_user', 'kyc_owner');
    check('kyc-app connects as kyc_app but not as kyc_owner', appOk.stdout.trim() === 'kyc_app' && ownerTry.code !== 0, `${appOk.stdout.trim()} / ${ownerTry.stderr.trim()}`);
    const signingKey = '/var/lib/kyc/worker/secrets/audit-signing.key';
    const readKey = await a.container.exec(['runuser', '-u', 'kyc-app', '--', 'cat', signingKey]);
    const keyExists = await a.container.exec(['test', '-s', signingKey]);
    check('kyc-app cannot read the checkpoint signing key', Boolean(signingKey) && keyExists.code === 0 && readKey.code !== 0, `${signingKey}: ${readKey.stderr.trim()}`);

    const units: Record<string, number> = {};
    for (const unit of UNITS) {
      const r = await a.container.exec(['systemd-analyze', 'security', '--no-pager', `${unit}.service`]);
      const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(r.stdout + r.stderr);
      units[unit] = m ? Number(m[1]) : NaN;
      check(`${unit} exposure ≤ 2.0`, Boolean(m) && units[unit]! <= 2.0, m ? String(units[unit]) : r.stderr.trim());
    }

    // 2. Idempotence.
    const second = await a.playbook('site.yml', { kyc_appliance_bundle: bundle1 });
    check('a second run reports changed=0', second.changed === 0, `changed=${second.changed}`);

    // 3. Upgrade with a rebuilt bundle, keeping a case made before it.
    // a fresh token: the one from before the second run may have expired (the IdP's access tokens live minutes)
    const created = await a.api('/api/cases', await a.token('teller1'), newCaseBody({ customerName: '升级前' }));
    const caseId = created.status === 201 ? (JSON.parse(created.body) as { id: string }).id : '';
    check('a teller creates a case through the API', Boolean(caseId), `${created.status} ${created.body.slice(0, 200)}`);
    const bundle2 = await buildBundle(v2, join(work, 'dist'));
    const upgrade = await a.playbook('site.yml', { kyc_appliance_bundle: bundle2 });
    log(`upgrade took ${upgrade.seconds.toFixed(1)} s`);
    const current = (await a.container.exec(['readlink', '/opt/kyc/current'])).stdout.trim();
    const previousKept = (await a.container.exec(['test', '-x', `/opt/kyc/releases/${v1}/runtime/node`])).code === 0;
    const teller2 = await a.token('teller1');
    const after = await a.api(`/api/cases/${caseId}`, teller2);
    const readyAfter = await a.curl([`https://${FQDN}:${APP_PORT}/readyz`]);
    const verify = await a.container.exec(['kyc-audit-verify']);
    const sequenced = await everyEventSequenced(a.container);
    const upgradeOk = [
      check('upgrade switched to the new release and kept the previous one', current.endsWith(`/${v2}`) && previousKept, current),
      check('the case made before the upgrade is still there', after.status === 200 && after.body.includes(caseId), `${after.status}`),
      check('/readyz 200 after the upgrade', readyAfter.status === 200, String(readyAfter.status)),
      check('kyc-audit verify passes after the upgrade', verify.code === 0, (verify.stdout + verify.stderr).trim().slice(0, 400)),
      check('every audit event is in the verified tree (the sequencer runs under the installed privileges)', sequenced.ok, sequenced.detail),
    ].every(Boolean);

    // 4. Backup, restored into a fresh container.
    // The keys a restore needs to read what it restores: KEKs (sealed media), PII/blind-index/session keys, the
    // checkpoint signing key. Their checksums before the backup must be theirs after the restore.
    const keyFiles = 'find /var/lib/kyc/kek /var/lib/kyc/appliance/secrets /var/lib/kyc/worker/secrets -type f -print0 | sort -z | xargs -0 sha256sum';
    const keysBefore = (await a.container.exec(['sh', '-c', keyFiles])).stdout.trim();
    const backup = await a.container.exec(['systemctl', 'start', 'kyc-backup.service'], { timeoutMs: 300_000 });
    const latest = (await a.container.exec(['sh', '-c', 'ls -1t /var/backups/kyc/kyc-backup-*.tar | head -n 1'])).stdout.trim();
    check('the backup service wrote a backup', backup.code === 0 && latest !== '', `${latest} ${backup.stderr.trim()}`);
    const backupCopy = join(work, 'backup.tar');
    await must('cp', [join(a.container.root, latest), backupCopy]);
    await a.stopIdp();
    await a.container.destroy();
    sites.splice(sites.indexOf(a), 1);

    const b = await boot('b');
    log(`container ${b.container.name} booted; installing ${v2} and restoring the backup`);
    await b.playbook('site.yml', { kyc_appliance_bundle: bundle2 });
    await b.playbook('restore.yml', { kyc_appliance_bundle: bundle2, kyc_backup_restore_file: backupCopy });
    const tellerB = await b.token('teller1');
    const restored = await b.api(`/api/cases/${caseId}`, tellerB);
    const verifyB = await b.container.exec(['kyc-audit-verify']);
    const keysAfter = (await b.container.exec(['sh', '-c', keyFiles])).stdout.trim();
    const nameOf = (body: string) => (JSON.parse(body) as { customerName?: string }).customerName;
    const restoreOk = [
      check('the restored appliance has the case', restored.status === 200 && restored.body.includes(caseId), String(restored.status)),
      check(
        "the restored case's personal data decrypts as before (PII key restored)",
        restored.status === 200 && after.status === 200 && nameOf(restored.body) === nameOf(after.body) && Boolean(nameOf(after.body)),
        `${restored.status}`,
      ),
      check(
        'the KEKs, PII keys and signing key are restored unchanged',
        keysBefore.split('\n').length >= 5 && keysAfter === keysBefore,
        `${keysBefore.split('\n').length} key files before, ${keysAfter.split('\n').length} after`,
      ),
      check('kyc-audit verify passes on the restored appliance', verifyB.code === 0, (verifyB.stdout + verifyB.stderr).trim().slice(0, 400)),
    ].every(Boolean);

    return {
      result: { install_s: Math.round(install.seconds * 10) / 10, second_run_changed: second.changed, units, upgrade_ok: upgradeOk, restore_ok: restoreOk },
      checks,
    };
  } finally {
    for (const s of sites) {
      await s.stopIdp().catch(() => undefined);
      await s.container.destroy().catch(() => undefined);
    }
    if (!opts.keep) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}
