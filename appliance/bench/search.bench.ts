// Archive search benchmark: 1,000,000 synthetic cases (with sessions and recordings for a third of them) generated
// in PostgreSQL, then typical auditor queries through the archive repository (the page query and the exact total,
// concurrently, as the search service runs them). Encrypted columns hold random bytes and the blind indexes random
// 32-byte values except a few known ones, so the query plans are those of real data; decrypting and masking the
// page (≤ 50 rows) is not part of the figure. Reports p50/p95 per query kind and overall; last line
// {"search_p95_ms":…} (target ≤ 50).
//
//   npx tsx appliance/bench/search.bench.ts [--cases 1000000] [--queries 200]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createTestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../src/migrations-dir.js';
import { archiveRepository, type ArchiveFilter, type ArchiveKey, type ArchiveSort } from '../src/repositories/archive.repository.js';
import { ARCHIVE_TOTAL_CAP } from '../src/services/archive.service.js';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '1000000' }, queries: { type: 'string', default: '200' } } });
const N = Number(values.cases);
const Q = Number(values.queries);
const known = (i: number) => createHash('sha256').update(`known-${i}`).digest();
const DAY = 86_400_000;
const now = Date.now();

const db = await createTestDatabase(allMigrations);
const owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
try {
  const t0 = performance.now();
  // 200 tellers, 40 branches, 15 products; two years of cases; most are finished.
  await owner.query(
    `INSERT INTO cases (id, status, teller, branch, product, customer_name_enc, customer_id_enc, customer_phone_enc, id_number_bidx, name_bidx, created_at, updated_at)
     SELECT gen_random_uuid(),
            (ARRAY['draft','invited','in_session','completed','approved','approved','approved','approved','rejected','completed'])[1 + (i % 10)],
            'teller' || (1 + (hashint4(i) & 2147483647) % 200),
            'branch-' || (1 + (hashint4(i + 7) & 2147483647) % 40),
            'product-' || (1 + (hashint4(i + 13) & 2147483647) % 15),
            sha256(int4send(i)), sha256(int4send(i + 1)), sha256(int4send(i + 2)),
            sha256(int8send(i::bigint * 3)), sha256(int8send(i::bigint * 5)),
            to_timestamp($2 - (i::float8 / $1) * 730 * 86400 - random()), now()
       FROM generate_series(1, $1) AS i`,
    [N, now / 1000],
  );
  // a few cases whose ID numbers and names are known to the queries
  for (let k = 0; k < 20; k++) {
    await owner.query(`UPDATE cases SET id_number_bidx = $1, name_bidx = $2 WHERE id = (SELECT id FROM cases ORDER BY id OFFSET $3 LIMIT 1)`, [known(k), known(1000 + (k % 5)), k * 37_000]);
  }
  const t1 = performance.now();
  await owner.query(
    `INSERT INTO invitations (id, case_id, token_hash, code_hash, code_enc, token_enc, created_by, created_at, expires_at)
     SELECT gen_random_uuid(), id, sha256(uuid_send(id)), '\\x00', '\\x00', '\\x00', teller, created_at, created_at + interval '1 day'
       FROM cases WHERE status NOT IN ('draft') AND (hashtext(id::text) % 3) = 0`,
  );
  await owner.query(
    `INSERT INTO call_sessions (id, case_id, invitation_id, teller, state, room_id, admitted_at, ended_at, end_reason)
     SELECT gen_random_uuid(), i.case_id, i.id, i.created_by, 'ended', row_number() OVER (), i.created_at + interval '5 minutes', i.created_at + interval '20 minutes', 'hangup'
       FROM invitations i`,
  );
  await owner.query(
    `INSERT INTO recordings (id, session_id, case_id, status, complete, sealed_at, manifest_sha256, kek_id, wrapped_key, issues)
     SELECT gen_random_uuid(), s.id, s.case_id, x.status, CASE WHEN x.status = 'sealed' THEN x.r > 0.02 END,
            CASE WHEN x.status = 'sealed' THEN s.ended_at END, CASE WHEN x.status = 'sealed' THEN '\\x00'::bytea END,
            CASE WHEN x.status = 'sealed' THEN 'k' END, CASE WHEN x.status = 'sealed' THEN '\\x00'::bytea END,
            CASE WHEN x.r < 0.05 THEN '[{"code":"segment_gap","severity":"warning","message":"gap"}]'::jsonb ELSE '[]'::jsonb END
       FROM call_sessions s, LATERAL (SELECT random() AS r) r0,
            LATERAL (SELECT r0.r AS r, CASE WHEN r0.r < 0.01 THEN 'failed' WHEN r0.r < 0.015 THEN 'processing' ELSE 'sealed' END AS status) x`,
  );
  await owner.query('VACUUM ANALYZE');
  const t2 = performance.now();
  const counts = (await pool.query<{ c: string; s: string; r: string }>('SELECT (SELECT count(*) FROM cases) c, (SELECT count(*) FROM call_sessions) s, (SELECT count(*) FROM recordings) r'))
    .rows[0]!;
  console.log(
    `generated ${counts.c} cases, ${counts.s} sessions, ${counts.r} recordings in ${((t1 - t0) / 1000).toFixed(1)} s + ${((t2 - t1) / 1000).toFixed(1)} s (sessions, recordings, ANALYZE)`,
  );

  const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
  const daysAgo = (d: number) => new Date(now - d * DAY);
  const kinds: Array<{ name: string; make(i: number): { f: ArchiveFilter; sort?: ArchiveSort } }> = [
    { name: 'id number (blind index)', make: (i) => ({ f: { idNumberBidx: known(i % 20) } }) },
    { name: 'name (blind index)', make: (i) => ({ f: { nameBidx: known(1000 + (i % 5)) } }) },
    { name: 'teller, last 30 days', make: (i) => ({ f: { teller: `teller${1 + (i % 200)}`, from: daysAgo(30) } }) },
    { name: 'branch, one month', make: (i) => ({ f: { branch: `branch-${1 + (i % 40)}`, from: daysAgo(90 + (i % 300)), to: daysAgo(60 + (i % 300)) } }) },
    { name: 'product + status', make: (i) => ({ f: { product: `product-${1 + (i % 15)}`, status: pick(['completed', 'rejected'] as const, i) } }) },
    { name: 'awaiting review, oldest first', make: () => ({ f: { status: 'completed' }, sort: 'created_asc' }) },
    { name: 'failed recordings, last 90 days', make: () => ({ f: { recordingStatus: 'failed', from: daysAgo(90) } }) },
    { name: 'incomplete recordings, branch', make: (i) => ({ f: { flag: 'incomplete', branch: `branch-${1 + (i % 40)}` } }) },
    { name: 'everything, last 7 days', make: () => ({ f: { from: daysAgo(7) } }) },
    { name: 'teller, next page', make: (i) => ({ f: { teller: `teller${1 + ((i * 7) % 200)}` } }) },
  ];
  const timings = new Map<string, number[]>();
  const all: number[] = [];
  const run = async (f: ArchiveFilter, sort: ArchiveSort, after: ArchiveKey | null) => {
    // As the search service does it: the page, then the total (exact up to ARCHIVE_TOTAL_CAP).
    const rows = await archiveRepository.search(pool, f, sort, after, 51);
    await archiveRepository.count(pool, f, ARCHIVE_TOTAL_CAP);
    return rows;
  };
  // warm-up: one of each
  for (const k of kinds) await run(k.make(0).f, k.make(0).sort ?? 'created_desc', null);
  for (let i = 0; i < Q; i++) {
    const k = kinds[i % kinds.length]!;
    const { f, sort = 'created_desc' } = k.make(Math.floor(i / kinds.length) + 1);
    let after: ArchiveKey | null = null;
    if (k.name === 'teller, next page') {
      const first = await run(f, sort, null);
      const last = first[49];
      after = last ? { createdKey: last.created_key, id: last.id } : null;
    }
    const s = performance.now();
    await run(f, sort, after);
    const ms = performance.now() - s;
    all.push(ms);
    timings.set(k.name, [...(timings.get(k.name) ?? []), ms]);
  }
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  };
  for (const [name, xs] of timings) console.log(`${name.padEnd(34)} n=${xs.length}  p50 ${pct(xs, 50).toFixed(1)} ms  p95 ${pct(xs, 95).toFixed(1)} ms`);
  console.log(`all ${all.length} queries (page + total, exact up to 10,000): p50 ${pct(all, 50).toFixed(1)} ms, p95 ${pct(all, 95).toFixed(1)} ms`);
  console.log(JSON.stringify({ search_p50_ms: Number(pct(all, 50).toFixed(2)), search_p95_ms: Number(pct(all, 95).toFixed(2)), cases: Number(counts.c) }));
} finally {
  await owner.end();
  await pool.end();
  await db.drop();
}
