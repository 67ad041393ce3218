import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CONFIG_KEYS, type ConfigKey, type KeySpec } from './schema.js';
import { LIVENESS_CHALLENGE_KINDS, type LivenessChallengeKind } from '../media/protocol.js';
import { HSM_KEY_LABEL } from '@kyc/compliance';
import { secretModeProblem } from '../lib/secret-files.js';

export type Profile = 'production' | 'development';

/** The dev identity provider's realm: the issuer in development when none is configured (never in production). */
export const DEV_IDP_ISSUER = 'http://127.0.0.1:8180/realms/kyc';

export interface AppConfig {
  profile: Profile;
  dataDir: string;
  listen: { host: string; port: number };
  publicUrl: URL;
  tls: { certFile: string | null; keyFile: string | null; serverNames: string[] };
  db: { url: string; migrateUrl: string; passwordFile: string | null; poolSize: number };
  oidc: { issuer: URL; clientId: string; clientSecretFile: string; audience: string; bearerClients: string[]; caFile: string | null };
  session: { keyFile: string; ttlSeconds: number; idleSeconds: number; idpRecheckSeconds: number; idpGraceSeconds: number };
  pii: { keyFile: string; blindIndexKeyFile: string; caseKeyDir: string };
  http: { bodyLimitBytes: number; authRateLimitPerMinute: number; trustProxy: boolean };
  /** the /metrics listener; null when KYC_METRICS_LISTEN is off */
  metrics: { listen: { host: string; port: number } | null };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  webRoot: string | null;
  audit: {
    origin: string;
    signingKeyFile: string;
    checkpointDir: string;
    checkpointEveryEvents: number;
    checkpointEverySeconds: number;
    checkpointer: 'appliance' | 'worker';
    tsa: { url: URL; certFile: string | null; caFile: string | null } | null;
  };
  invitations: { ttlMinutes: number; codeAttempts: number };
  service: {
    ticketTtlMinutes: number;
    visitsPerMinute: number;
    visitRetentionDays: number;
    frameAncestors: string[];
    routing: 'random' | 'longest_idle';
    offerTimeoutSeconds: number;
    assistant: { url: URL | null; timeoutMs: number };
  };
  workerInProcess: boolean;
  /** degrade, don't drop: when a call steps down from video to audio to chat and back */
  degrade: { lossPct: number; minKbps: number; downSeconds: number; slowlinks: number; upLossPct: number; upSeconds: number; chatAfterSeconds: number };
  janus: { wsUrl: URL | null; adminSecretFile: string | null; roomKeyFile: string | null; eventsSecretFile: string | null; mediaInterface: string | null; socketsPerAddress: number };
  face: {
    engine: 'builtin' | 'hook';
    modelDir: string | null;
    workers: number;
    matchDistance: number;
    reviewDistance: number;
    livenessYaw: number;
    maxImageBytes: number;
    tesseractPath: string;
    hook: { url: URL | null; secretFile: string | null; caFile: string | null; timeoutMs: number; retries: number };
  };
  identity: { livenessChallenges: LivenessChallengeKind[] };
  recording: {
    dir: string;
    /** folders shared through group ownership (2770 session folders) instead of 0700 */
    groupAccess: boolean;
    archiveDir: string;
    kekDir: string;
    /** where new data keys are wrapped */
    kekProvider: 'file' | 'pkcs11';
    /** the HSM token (required with kekProvider pkcs11; with file, optional: unwraps keys the token still holds) */
    pkcs11: { module: string; tokenLabel: string; pinFile: string; keyLabel: string } | null;
    tools: { ffmpeg: string; ffprobe: string; janusPpRec: string };
    seal: { concurrency: number; retryLimit: number; retryDelaySeconds: number; settleSeconds: number; reconcileSeconds: number; orphanSeconds: number };
    /** hours between scheduled retention runs; 0: none scheduled */
    retentionRunHours: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Raw = Partial<Record<ConfigKey, string>>;

/** Key names accepted in the config file: `KYC_LISTEN_PORT`, `LISTEN_PORT` or `listenPort`. */
function fileKeyToConfigKey(key: string): ConfigKey | null {
  const upper = key.startsWith('KYC_') ? key : `KYC_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
  return upper in CONFIG_KEYS ? (upper as ConfigKey) : null;
}

function readConfigFile(path: string, problems: string[]): Raw {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    problems.push(`KYC_CONFIG_FILE: cannot read ${path} as JSON (${(err as Error).message.split('\n')[0]})`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('KYC_CONFIG_FILE: must hold a JSON object');
    return {};
  }
  const raw: Raw = {};
  for (const [k, v] of Object.entries(parsed)) {
    const key = fileKeyToConfigKey(k);
    if (!key) {
      problems.push(`${k} (config file): unknown key`);
      continue;
    }
    if (typeof v === 'string') raw[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') raw[key] = String(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) raw[key] = v.join(',');
    else problems.push(`${key} (config file): must be a string, number, boolean or list of strings`);
  }
  return raw;
}

/** A file of PEM certificates must be readable and hold at least one. */
function checkPemFile(key: string, path: string | null | undefined, problems: string[]): void {
  if (!path) return;
  let pem = '';
  try {
    pem = readFileSync(path, 'utf8');
  } catch {
    problems.push(`${key}: cannot read ${path}`);
  }
  if (pem && !pem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`${key}: ${path} holds no PEM certificate`);
}

function checkSecretFile(key: string, path: string, problems: string[], access: { groupReadable?: boolean } = {}): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    problems.push(`${key}: file ${path} does not exist`);
    return;
  }
  const problem = secretModeProblem(st.mode, access);
  if (!st.isFile()) problems.push(`${key}: ${path} is not a regular file`);
  else if (problem) problems.push(`${key}: ${path} ${problem}`);
}

const PKCS11_KEYS = ['KYC_PKCS11_MODULE', 'KYC_PKCS11_TOKEN_LABEL', 'KYC_PKCS11_PIN_FILE', 'KYC_PKCS11_KEY_LABEL'] as const;

/** The HSM token settings: all four or none; required by the pkcs11 provider; the PIN file private like a KEK. */
function checkPkcs11(values: Map<ConfigKey, unknown>, problems: string[]): void {
  const set = PKCS11_KEYS.filter((k) => values.get(k) !== null && values.get(k) !== undefined);
  const provider = values.get('KYC_KEK_PROVIDER');
  if (set.length === 0 && provider !== 'pkcs11') return;
  for (const k of PKCS11_KEYS) {
    if (!set.includes(k)) problems.push(provider === 'pkcs11' ? `${k}: required with KYC_KEK_PROVIDER=pkcs11` : `${k}: set all of ${PKCS11_KEYS.join(', ')} or none`);
  }
  const module = values.get('KYC_PKCS11_MODULE') as string | null | undefined;
  if (module) {
    try {
      if (!statSync(module).isFile()) problems.push(`KYC_PKCS11_MODULE: ${module} is not a file`);
    } catch {
      problems.push(`KYC_PKCS11_MODULE: ${module} does not exist`);
    }
  }
  const token = values.get('KYC_PKCS11_TOKEN_LABEL') as string | null | undefined;
  if (token && Buffer.byteLength(token, 'utf8') > 32) problems.push('KYC_PKCS11_TOKEN_LABEL: a token label has at most 32 bytes');
  const label = values.get('KYC_PKCS11_KEY_LABEL') as string | null | undefined;
  if (label && !HSM_KEY_LABEL.test(label)) problems.push('KYC_PKCS11_KEY_LABEL: letters, digits, `.`, `_`, `-` only (at most 63, not starting with a sign)');
  const pinFile = values.get('KYC_PKCS11_PIN_FILE') as string | null | undefined;
  if (pinFile) checkSecretFile('KYC_PKCS11_PIN_FILE', pinFile, problems, { groupReadable: values.get('KYC_DIR_GROUP_ACCESS') === true });
}

export interface LoadOptions {
  /** the environment to read KYC_* variables from; the entry point passes process.env, tests pass their own */
  env: Record<string, string | undefined>;
  /** directory relative paths are resolved against */
  cwd: string;
  /** secret files that the appliance creates itself on first start are not required to exist yet */
  allowMissingGeneratedSecrets?: boolean;
  /** tools that use no secrets (migrations) accept any missing secret file; present ones are still checked */
  allowMissingSecrets?: boolean;
  /** secret files this process never reads (the worker: session key, OIDC secret, …): not required to exist */
  unusedSecrets?: readonly ConfigKey[];
}

/** Secrets the appliance generates on first start when missing. */
export const GENERATED_SECRETS: readonly ConfigKey[] = ['KYC_SESSION_KEY_FILE', 'KYC_PII_KEY_FILE', 'KYC_BLIND_INDEX_KEY_FILE', 'KYC_AUDIT_SIGNING_KEY_FILE'];

export function loadConfig(opts: LoadOptions): AppConfig {
  const problems: string[] = [];
  for (const name of Object.keys(opts.env)) {
    if (name.startsWith('KYC_') && !(name in CONFIG_KEYS)) problems.push(`${name}: unknown variable`);
  }
  const fromEnv: Raw = {};
  for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    const v = opts.env[key];
    if (v !== undefined && v !== '') fromEnv[key] = v;
  }
  const fileRaw = fromEnv.KYC_CONFIG_FILE ? readConfigFile(resolve(opts.cwd, fromEnv.KYC_CONFIG_FILE), problems) : {};
  const raw: Raw = { ...fileRaw, ...fromEnv };

  const dataDir = resolve(opts.cwd, raw.KYC_DATA_DIR ?? CONFIG_KEYS.KYC_DATA_DIR.default);
  const values = new Map<ConfigKey, unknown>();
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as [ConfigKey, KeySpec][]) {
    let text = raw[key];
    if (text === undefined) {
      if (spec.default === undefined) {
        problems.push(`${key}: required`);
        continue;
      }
      if (spec.default === null) {
        values.set(key, null);
        continue;
      }
      text = spec.default.replace(/^\$DATA_DIR\//, `${dataDir}/`);
    }
    const value = parseValue(key, spec, text, opts.cwd, problems);
    if (value === undefined) continue;
    values.set(key, value);
    if (spec.secretFile && typeof value === 'string') {
      if (opts.unusedSecrets?.includes(key)) continue;
      const generated = (GENERATED_SECRETS.includes(key) && opts.allowMissingGeneratedSecrets) || opts.allowMissingSecrets;
      let exists = true;
      try {
        statSync(value);
      } catch {
        exists = false;
      }
      if (exists || !generated) checkSecretFile(key, value, problems);
    }
  }
  if ((values.get('KYC_TLS_CERT_FILE') === null) !== (values.get('KYC_TLS_KEY_FILE') === null)) {
    problems.push('KYC_TLS_CERT_FILE and KYC_TLS_KEY_FILE: set both or neither');
  }
  const publicUrl = values.get('KYC_PUBLIC_URL') as URL | undefined;
  if (publicUrl && publicUrl.protocol !== 'https:') problems.push('KYC_PUBLIC_URL: must be an https:// URL');
  const janusUrl = values.get('KYC_JANUS_WS_URL') as URL | null | undefined;
  if (janusUrl && !/^(wss?|ws\+unix):$/.test(janusUrl.protocol)) problems.push('KYC_JANUS_WS_URL: must be a ws://, wss:// or ws+unix:<socket>:/ URL');
  for (const key of ['KYC_DB_URL', 'KYC_DB_MIGRATE_URL'] as const) {
    // libpq URLs may have an empty host (unix socket), which WHATWG URL parsing rejects: checked by pattern.
    const u = values.get(key) as string | undefined;
    if (u !== undefined && !/^postgres(ql)?:\/\/[^\s]*$/.test(u)) problems.push(`${key}: must be a postgresql:// URL`);
    else if (u !== undefined && /^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(u)) problems.push(`${key}: must not contain a password (use KYC_DB_PASSWORD_FILE)`);
  }
  checkPkcs11(values, problems);
  const profile = values.get('KYC_PROFILE') as Profile | undefined;
  const issuer = checkIssuer(profile, values.get('KYC_OIDC_ISSUER') as URL | null | undefined, problems);
  for (const key of ['KYC_OIDC_CA_FILE', 'KYC_TSA_CERT_FILE', 'KYC_TSA_CA_FILE'] as const) checkPemFile(key, values.get(key) as string | null | undefined, problems);
  const tsaUrl = values.get('KYC_TSA_URL') as URL | null | undefined;
  if (tsaUrl && tsaUrl.protocol !== 'http:' && tsaUrl.protocol !== 'https:') problems.push('KYC_TSA_URL: must be an http:// or https:// URL');
  const hookUrl = values.get('KYC_FACE_HOOK_URL') as URL | null | undefined;
  if (hookUrl && hookUrl.protocol !== 'https:') problems.push('KYC_FACE_HOOK_URL: must be an https:// URL');
  if (hookUrl && !values.get('KYC_FACE_HOOK_SECRET_FILE')) problems.push('KYC_FACE_HOOK_SECRET_FILE: required with KYC_FACE_HOOK_URL');
  if (values.get('KYC_FACE_ENGINE') === 'hook' && !hookUrl) problems.push('KYC_FACE_HOOK_URL: required with KYC_FACE_ENGINE=hook');
  const matchDistance = values.get('KYC_FACE_MATCH_DISTANCE') as number | undefined;
  const reviewDistance = values.get('KYC_FACE_REVIEW_DISTANCE') as number | undefined;
  if (matchDistance !== undefined && reviewDistance !== undefined && reviewDistance < matchDistance) {
    problems.push('KYC_FACE_REVIEW_DISTANCE: must not be below KYC_FACE_MATCH_DISTANCE');
  }
  const downLoss = values.get('KYC_DEGRADE_LOSS_PCT') as number | undefined;
  const upLoss = values.get('KYC_DEGRADE_UP_LOSS_PCT') as number | undefined;
  if (downLoss !== undefined && upLoss !== undefined && upLoss >= downLoss) problems.push('KYC_DEGRADE_UP_LOSS_PCT: must be below KYC_DEGRADE_LOSS_PCT (hysteresis)');
  const metricsListen = parseListen('KYC_METRICS_LISTEN', values.get('KYC_METRICS_LISTEN') as string | undefined, problems);
  const challenges = values.get('KYC_LIVENESS_CHALLENGES') as string[] | undefined;
  if (challenges !== undefined) {
    const unknown = challenges.filter((c) => !(LIVENESS_CHALLENGE_KINDS as readonly string[]).includes(c));
    if (unknown.length > 0) problems.push(`KYC_LIVENESS_CHALLENGES: unknown kind ${unknown.join(', ')} (known: ${LIVENESS_CHALLENGE_KINDS.join(', ')})`);
    else if (new Set(challenges).size < 2) problems.push('KYC_LIVENESS_CHALLENGES: name at least two different kinds');
  }
  const assistantUrl = values.get('KYC_ASSISTANT_URL') as URL | null | undefined;
  if (assistantUrl && assistantUrl.protocol !== 'http:' && assistantUrl.protocol !== 'https:') problems.push('KYC_ASSISTANT_URL: must be an http:// or https:// URL');
  for (const origin of (values.get('KYC_SERVICE_FRAME_ANCESTORS') as string[] | undefined) ?? []) {
    if (!/^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(origin) && origin !== "'self'")
      problems.push(`KYC_SERVICE_FRAME_ANCESTORS: ${origin} is not an https://host[:port] origin or 'self'`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const v = <T>(key: ConfigKey) => values.get(key) as T;
  return {
    profile: v('KYC_PROFILE'),
    dataDir,
    listen: { host: v('KYC_LISTEN_HOST'), port: v('KYC_LISTEN_PORT') },
    publicUrl: v('KYC_PUBLIC_URL'),
    tls: { certFile: v('KYC_TLS_CERT_FILE'), keyFile: v('KYC_TLS_KEY_FILE'), serverNames: v('KYC_TLS_SERVER_NAMES') },
    db: {
      url: v('KYC_DB_URL'),
      migrateUrl: v('KYC_DB_MIGRATE_URL'),
      passwordFile: v('KYC_DB_PASSWORD_FILE'),
      poolSize: v('KYC_DB_POOL_SIZE'),
    },
    oidc: {
      issuer: issuer!,
      clientId: v('KYC_OIDC_CLIENT_ID'),
      clientSecretFile: v('KYC_OIDC_CLIENT_SECRET_FILE'),
      audience: v('KYC_OIDC_AUDIENCE'),
      bearerClients: v('KYC_OIDC_BEARER_CLIENTS'),
      caFile: v('KYC_OIDC_CA_FILE'),
    },
    session: {
      keyFile: v('KYC_SESSION_KEY_FILE'),
      ttlSeconds: v('KYC_SESSION_TTL_SECONDS'),
      idleSeconds: v('KYC_SESSION_IDLE_SECONDS'),
      idpRecheckSeconds: v('KYC_SESSION_IDP_RECHECK_SECONDS'),
      idpGraceSeconds: v('KYC_SESSION_IDP_GRACE_SECONDS'),
    },
    pii: { keyFile: v('KYC_PII_KEY_FILE'), blindIndexKeyFile: v('KYC_BLIND_INDEX_KEY_FILE'), caseKeyDir: v('KYC_PII_CASE_KEY_DIR') },
    http: {
      bodyLimitBytes: v('KYC_BODY_LIMIT_BYTES'),
      authRateLimitPerMinute: v('KYC_AUTH_RATE_LIMIT_PER_MINUTE'),
      trustProxy: v('KYC_TRUST_PROXY'),
    },
    metrics: { listen: metricsListen ?? null },
    logLevel: v('KYC_LOG_LEVEL'),
    webRoot: v('KYC_WEB_ROOT'),
    audit: {
      origin: v('KYC_AUDIT_ORIGIN'),
      signingKeyFile: v('KYC_AUDIT_SIGNING_KEY_FILE'),
      checkpointDir: v('KYC_AUDIT_CHECKPOINT_DIR'),
      checkpointEveryEvents: v('KYC_AUDIT_CHECKPOINT_EVERY_EVENTS'),
      checkpointEverySeconds: v('KYC_AUDIT_CHECKPOINT_EVERY_SECONDS'),
      checkpointer: v('KYC_AUDIT_CHECKPOINTER'),
      tsa: tsaUrl ? { url: tsaUrl, certFile: v('KYC_TSA_CERT_FILE'), caFile: v('KYC_TSA_CA_FILE') } : null,
    },
    workerInProcess: v('KYC_WORKER_IN_PROCESS'),
    invitations: { ttlMinutes: v('KYC_INVITATION_TTL_MINUTES'), codeAttempts: v('KYC_INVITATION_CODE_ATTEMPTS') },
    degrade: {
      lossPct: v('KYC_DEGRADE_LOSS_PCT'),
      minKbps: v('KYC_DEGRADE_MIN_KBPS'),
      downSeconds: v('KYC_DEGRADE_DOWN_SECONDS'),
      slowlinks: v('KYC_DEGRADE_SLOWLINKS'),
      upLossPct: v('KYC_DEGRADE_UP_LOSS_PCT'),
      upSeconds: v('KYC_DEGRADE_UP_SECONDS'),
      chatAfterSeconds: v('KYC_DEGRADE_CHAT_AFTER_SECONDS'),
    },
    service: {
      ticketTtlMinutes: v('KYC_SERVICE_TICKET_TTL_MINUTES'),
      visitsPerMinute: v('KYC_SERVICE_VISITS_PER_MINUTE'),
      visitRetentionDays: v('KYC_SERVICE_VISIT_RETENTION_DAYS'),
      frameAncestors: v('KYC_SERVICE_FRAME_ANCESTORS'),
      routing: v('KYC_QUEUE_ROUTING'),
      offerTimeoutSeconds: v('KYC_QUEUE_OFFER_TIMEOUT_SECONDS'),
      assistant: { url: v('KYC_ASSISTANT_URL'), timeoutMs: v('KYC_ASSISTANT_TIMEOUT_MS') },
    },
    janus: {
      wsUrl: v('KYC_JANUS_WS_URL'),
      adminSecretFile: v('KYC_JANUS_ADMIN_SECRET_FILE'),
      roomKeyFile: v('KYC_JANUS_ROOM_KEY_FILE'),
      eventsSecretFile: v('KYC_JANUS_EVENTS_SECRET_FILE'),
      mediaInterface: v('KYC_MEDIA_INTERFACE'),
      socketsPerAddress: v('KYC_SIGNALING_SOCKETS_PER_ADDRESS'),
    },
    face: {
      engine: v('KYC_FACE_ENGINE'),
      modelDir: v('KYC_FACE_MODEL_DIR'),
      workers: v('KYC_FACE_WORKERS'),
      matchDistance: v('KYC_FACE_MATCH_DISTANCE'),
      reviewDistance: v('KYC_FACE_REVIEW_DISTANCE'),
      livenessYaw: v('KYC_FACE_LIVENESS_YAW'),
      maxImageBytes: v('KYC_FACE_MAX_IMAGE_BYTES'),
      tesseractPath: v('KYC_OCR_TESSERACT_PATH'),
      hook: {
        url: v('KYC_FACE_HOOK_URL'),
        secretFile: v('KYC_FACE_HOOK_SECRET_FILE'),
        caFile: v('KYC_FACE_HOOK_CA_FILE'),
        timeoutMs: v('KYC_FACE_HOOK_TIMEOUT_MS'),
        retries: v('KYC_FACE_HOOK_RETRIES'),
      },
    },
    identity: { livenessChallenges: [...new Set(v<LivenessChallengeKind[]>('KYC_LIVENESS_CHALLENGES'))] },
    recording: {
      dir: v('KYC_RECORDINGS_DIR'),
      groupAccess: v('KYC_DIR_GROUP_ACCESS'),
      archiveDir: v('KYC_ARCHIVE_DIR'),
      kekDir: v('KYC_KEK_DIR'),
      kekProvider: v('KYC_KEK_PROVIDER'),
      pkcs11: v<string | null>('KYC_PKCS11_MODULE')
        ? { module: v('KYC_PKCS11_MODULE'), tokenLabel: v('KYC_PKCS11_TOKEN_LABEL'), pinFile: v('KYC_PKCS11_PIN_FILE'), keyLabel: v('KYC_PKCS11_KEY_LABEL') }
        : null,
      tools: { ffmpeg: v('KYC_FFMPEG_PATH'), ffprobe: v('KYC_FFPROBE_PATH'), janusPpRec: v('KYC_JANUS_PP_REC_PATH') },
      seal: {
        concurrency: v('KYC_SEAL_CONCURRENCY'),
        retryLimit: v('KYC_SEAL_RETRY_LIMIT'),
        retryDelaySeconds: v('KYC_SEAL_RETRY_DELAY_SECONDS'),
        settleSeconds: v('KYC_RECORDING_SETTLE_SECONDS'),
        reconcileSeconds: v('KYC_SEAL_RECONCILE_SECONDS'),
        orphanSeconds: v('KYC_SEAL_ORPHAN_SECONDS'),
      },
      retentionRunHours: v('KYC_RETENTION_RUN_HOURS'),
    },
  };
}

function parseValue(key: string, spec: KeySpec, text: string, cwd: string, problems: string[]): unknown {
  switch (spec.kind) {
    case 'string':
      return text;
    case 'path':
      return isAbsolute(text) ? text : resolve(cwd, text);
    case 'url':
      try {
        return new URL(text);
      } catch {
        problems.push(`${key}: not a valid URL`);
        return undefined;
      }
    case 'int': {
      if (!/^-?\d+$/.test(text)) {
        problems.push(`${key}: must be a whole number`);
        return undefined;
      }
      const n = Number(text);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        problems.push(`${key}: must be between ${spec.min} and ${spec.max}`);
        return undefined;
      }
      return n;
    }
    case 'number': {
      if (!/^-?\d+(\.\d+)?$/.test(text)) {
        problems.push(`${key}: must be a number`);
        return undefined;
      }
      const n = Number(text);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        problems.push(`${key}: must be between ${spec.min} and ${spec.max}`);
        return undefined;
      }
      return n;
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      problems.push(`${key}: must be true or false`);
      return undefined;
    case 'enum':
      if (!spec.values?.includes(text)) {
        problems.push(`${key}: must be one of ${spec.values?.join(', ')}`);
        return undefined;
      }
      return text;
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
  }
}

/** `host:port` (IPv6 in brackets), or `off` / empty for none. */
function parseListen(key: string, text: string | undefined, problems: string[]): { host: string; port: number } | null | undefined {
  if (text === undefined) return undefined;
  if (text.trim() === '' || text.trim().toLowerCase() === 'off') return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    problems.push(`${key}: must be host:port (e.g. 127.0.0.1:9464) or off`);
    return undefined;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Whom the appliance trusts to mint roles. Production: an explicitly configured https issuer and nothing else (a
 * default or an http issuer lets whoever can answer at that address sign in as anyone). Development: the dev IdP by
 * default, and http only on a loopback address.
 */
function checkIssuer(profile: Profile | undefined, issuer: URL | null | undefined, problems: string[]): URL | undefined {
  if (issuer === undefined || profile === undefined) return undefined;
  if (issuer === null) {
    if (profile === 'production') {
      problems.push("KYC_OIDC_ISSUER: required in production (the https URL of the institution's Keycloak realm)");
      return undefined;
    }
    return new URL(DEV_IDP_ISSUER);
  }
  if (issuer.protocol === 'https:') return issuer;
  if (issuer.protocol !== 'http:') {
    problems.push('KYC_OIDC_ISSUER: must be an https URL');
    return undefined;
  }
  if (profile === 'production') problems.push('KYC_OIDC_ISSUER: must be https in production');
  else if (!LOOPBACK_HOST.test(issuer.hostname)) problems.push('KYC_OIDC_ISSUER: http is allowed only for a loopback issuer in development; use https');
  return issuer;
}

/**
 * For entry points: the process's configuration, or a report of every problem on stderr and exit code 2. The one
 * place that hands process.env to the loader.
 */
export function loadConfigOrExit(opts: Omit<LoadOptions, 'env' | 'cwd'> = {}): AppConfig {
  try {
    return loadConfig({ env: process.env, cwd: process.cwd(), ...opts });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
