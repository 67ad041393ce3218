import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real RFC 3161 time-stamping authority for tests: `openssl ts -reply` behind a small HTTP server on loopback,
 * with its own CA and a TSA certificate (extended key usage timeStamping, critical). `down()` makes it answer 503
 * (a TSA that is out of service), `up()` brings it back.
 */
export interface TestTsa {
  url: string;
  dir: string;
  /** the TSA certificate (PEM file) a verifier pins */
  certFile: string;
  caFile: string;
  requests: number;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

const CONFIG = (dir: string) => `
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = ${dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;

const EXT = `
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
[ plain_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
`;

/** Makes a CA and a certificate signed by it in `dir` (`<name>.key`, `<name>.pem`); `ext` names the section of ext.cnf. */
async function issue(dir: string, name: string, subject: string, ext: 'tsa_ext' | 'plain_ext'): Promise<void> {
  await run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', subject, '-out', join(dir, `${name}.csr`)]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    join(dir, `${name}.csr`),
    '-CA',
    join(dir, 'ca.pem'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '3650',
    '-sha256',
    '-extfile',
    join(dir, 'ext.cnf'),
    '-extensions',
    ext,
    '-out',
    join(dir, `${name}.pem`),
  ]);
}

export async function startTestTsa(opts: { name?: string; certExtension?: 'tsa_ext' | 'plain_ext' } = {}): Promise<TestTsa> {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-test-tsa-'));
  await writeFile(join(dir, 'ext.cnf'), EXT);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(dir, 'ca.key'),
    '-subj',
    `/CN=${opts.name ?? 'Test'} TSA Root`,
    '-days',
    '3650',
    '-out',
    join(dir, 'ca.pem'),
  ]);
  await issue(dir, 'tsa', `/CN=${opts.name ?? 'Test'} Time Stamping Authority`, opts.certExtension ?? 'tsa_ext');
  await writeFile(join(dir, 'serial'), '01\n');
  await writeFile(join(dir, 'tsa.cnf'), CONFIG(dir));
  let available = true;
  let seq = 0;
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        state.requests += 1;
        if (!available) {
          res.writeHead(503).end();
          return;
        }
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
          res.writeHead(400).end();
          return;
        }
        const n = ++seq;
        const q = join(dir, `q${n}.tsq`);
        const r = join(dir, `r${n}.tsr`);
        try {
          await writeFile(q, Buffer.concat(chunks));
          await run('openssl', ['ts', '-reply', '-config', join(dir, 'tsa.cnf'), '-queryfile', q, '-out', r]);
          const reply = await readFile(r);
          res.writeHead(200, { 'content-type': 'application/timestamp-reply', 'content-length': reply.length }).end(reply);
        } catch {
          res.writeHead(500).end();
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/tsa`,
    dir,
    certFile: join(dir, 'tsa.pem'),
    caFile: join(dir, 'ca.pem'),
    get requests() {
      return state.requests;
    },
    down: () => {
      available = false;
    },
    up: () => {
      available = true;
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
