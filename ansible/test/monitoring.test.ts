import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import type pg from 'pg';
import { CONFIG_KEYS } from '../../appliance/src/config/schema.js';
import { OpsMetrics } from '../../appliance/src/services/ops-metrics.js';

// The shipped Prometheus/Grafana files name only metrics the appliance exports, and scrape its default listener.
const dir = (f: string) => fileURLToPath(new URL(`../monitoring/${f}`, import.meta.url));

/** Metric family names the appliance registers (built, not scraped: no database needed). */
function families(): Set<string> {
  const m = new OpsMetrics({ pool: {} as pg.Pool, recordingsInProgress: () => 0, handleRole: () => null, volumes: { recordings: '/', archive: '/' }, certificates: {} });
  return new Set(m.registry.getMetricsAsArray().map((x) => x.name));
}

/** kyc_* names used in a PromQL expression, histogram suffixes folded onto their family. */
function used(expr: string): string[] {
  return [...expr.matchAll(/\bkyc_[a-z0-9_]+/g)].map((x) => x[0].replace(/_(bucket|count|sum)$/, ''));
}

t.test('alert rules: well-formed, every kyc_ metric exists, the dashboard warnings are covered', async (t) => {
  const known = families();
  const rules = parse(readFileSync(dir('kyc-alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[];
  };
  const all = rules.groups.flatMap((g) => g.rules);
  for (const r of all) {
    t.match(r.alert, /^Kyc[A-Za-z]+$/);
    t.ok(['warning', 'critical'].includes(r.labels.severity ?? ''), `${r.alert}: severity`);
    t.ok((r.annotations.summary ?? '').length > 10, `${r.alert}: summary`);
    for (const name of used(r.expr)) t.ok(known.has(name), `${r.alert}: ${name} is exported`);
  }
  for (const name of ['KycDiskDaysLow', 'KycCertificateExpiring', 'KycSealFailing', 'KycCheckpointLate'])
    t.ok(
      all.some((r) => r.alert === name),
      `${name} present`,
    );
  t.match(all.find((r) => r.alert === 'KycDiskDaysLow')?.expr, /< 7\b/, 'disk: 7 days, as the dashboard');
  t.match(all.find((r) => r.alert === 'KycCertificateExpiring')?.expr, /< 30 \* 86400/, 'certificates: 30 days, as the dashboard');
});

t.test('scrape config targets the default metrics listener', async (t) => {
  const scrape = parse(readFileSync(dir('prometheus-scrape.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    rule_files: string[];
  };
  const job = scrape.scrape_configs.find((j) => j.job_name === 'kyc-appliance');
  t.equal(job?.metrics_path, '/metrics');
  t.same(job?.static_configs[0]?.targets, [CONFIG_KEYS.KYC_METRICS_LISTEN.default]);
  t.same(scrape.rule_files, ['kyc-alerts.yml']);
});

t.test('Grafana dashboard: valid JSON, every panel queries exported metrics', async (t) => {
  const known = families();
  const dash = JSON.parse(readFileSync(dir('grafana-dashboard.json'), 'utf8')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
  t.equal(dash.uid, 'kyc-appliance');
  t.ok(dash.panels.length >= 10);
  for (const p of dash.panels) {
    t.ok(p.targets.length > 0, `${p.title}: a query`);
    for (const e of p.targets) for (const name of used(e.expr)) t.ok(known.has(name), `${p.title}: ${name} is exported`);
  }
});
