// Janus's configuration as a pure function of options: the templates in appliance/janus/templates/ carry the
// layout and comments, this module supplies validated, quoted values. Nothing here touches the disk except
// loadJanusTemplates(), which only reads the templates.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const JANUS_TEMPLATE_NAMES = ['janus.jcfg', 'janus.transport.websockets.jcfg', 'janus.plugin.videoroom.jcfg'] as const;
export type JanusTemplateName = (typeof JANUS_TEMPLATE_NAMES)[number];
export type JanusTemplates = Record<JanusTemplateName, string>;

/** The folder holding the templates, from both src/media and dist/media. */
export const JANUS_TEMPLATE_DIR = fileURLToPath(new URL('../../janus/templates/', import.meta.url));

export const DEBIAN_JANUS_LIB_DIR = '/usr/lib/x86_64-linux-gnu/janus';

/** The only modules our Janus loads. */
export const REQUIRED_PLUGIN = 'libjanus_videoroom.so';
export const REQUIRED_TRANSPORT = 'libjanus_websockets.so';
/** The event handler that POSTs Janus's events (media stats, ICE) to the appliance, when enabled. */
export const EVENT_HANDLER = 'libjanus_sampleevh.so';
export const EVENT_HANDLER_CONFIG = 'janus.eventhandler.sampleevh.jcfg';
/** The event types the appliance reads: ICE/DTLS state and selected pair (webrtc), media statistics (media). */
export const EVENT_HANDLER_EVENTS = 'webrtc,media';

/** What Debian's janus 1.1.2 installs; used to disable every other module when no inventory is given. */
export const DEBIAN_JANUS_MODULES: JanusModuleInventory = {
  plugins: ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'videoroom', 'voicemail'].map((n) => `libjanus_${n}.so`),
  transports: ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'].map((n) => `libjanus_${n}.so`),
  events: ['gelfevh', 'mqttevh', 'nanomsgevh', 'rabbitmqevh', 'sampleevh', 'wsevh'].map((n) => `libjanus_${n}.so`),
  loggers: ['libjanus_jsonlog.so'],
};

/** The `*.so` files found in Janus's module folders. */
export interface JanusModuleInventory {
  plugins: string[];
  transports: string[];
  events: string[];
  loggers: string[];
}

export interface JanusListener {
  /** loopback address to bind; default 127.0.0.1 */
  host?: string;
  port?: number;
  /** address prefixes allowed to connect (Janus `*_acl`); default: the host itself */
  acl?: string[];
}

export interface TurnServerOptions {
  host: string;
  port?: number;
  type?: 'udp' | 'tcp' | 'tls';
  user?: string;
  password?: string;
}

export interface JanusConfigOptions {
  /** Folder the rendered files live in (Janus's -F / configs_folder). */
  configDir: string;
  logFile: string;
  /** Debian's module root; plugins/, transports/, events/, loggers/ sit below it. */
  libDir?: string;
  /** Modules installed under libDir; everything but VideoRoom and WebSockets is disabled. Default: Debian's list. */
  modules?: JanusModuleInventory;
  serverName?: string;
  /** 0–7; default 4 */
  debugLevel?: number;
  /** seconds without a keep-alive before Janus drops a session; default 60 */
  sessionTimeoutSecs?: number;
  /** secret of the admin API */
  adminSecret: string;
  /** optional secret every Janus API request must carry (defence in depth on loopback) */
  apiSecret?: string | null;
  /** key the VideoRoom plugin requires to create rooms */
  videoroomAdminKey: string;
  /** Janus API; default 127.0.0.1:8288 */
  ws?: JanusListener;
  /** Admin API on its own port; default 127.0.0.1:8289; `false` disables it */
  admin?: JanusListener | false;
  /** UDP ports for media; default 20000–20199 */
  rtpPortRange?: { min: number; max: number };
  /** Address put in the SDP c= line; default 127.0.0.1 (candidates carry the real addresses). */
  sdpAddress?: string;
  /** The interface (or address prefix) ICE candidates are gathered on (KYC_MEDIA_INTERFACE); null = all. */
  mediaInterface?: string | null;
  /** Interfaces or address prefixes never used for candidates; default ["vmnet"] (Janus's own default) */
  iceIgnoreList?: string[];
  /** default true: Janus trickles its candidates too */
  fullTrickle?: boolean;
  /** default true: .local (mDNS) candidates are ignored */
  ignoreMdns?: boolean;
  /** default false */
  iceLite?: boolean;
  /** lost packets per second that trigger a slowlink event; default 4, 0 disables */
  slowlinkThreshold?: number;
  /** Public addresses of a 1:1 NAT in front of the appliance (host candidates are rewritten to them). */
  natOneToOneMapping?: string[];
  /** With natOneToOneMapping: keep the private host candidates as well. */
  keepPrivateHost?: boolean;
  stunServer?: { host: string; port?: number } | null;
  turnServer?: TurnServerOptions | null;
  /** DTLS certificate and key files; without them Janus makes a self-signed pair at each start. */
  dtlsCertificate?: { certFile: string; keyFile: string } | null;
  /**
   * Janus's sample event handler POSTs grouped webrtc/media events to the appliance (`backend`, an http URL of the
   * appliance's metrics listener, basic auth `user`/`password`); media statistics every `statsPeriodSecs` (default
   * 5). Null: no event handler is loaded.
   */
  eventHandler?: { backend: string; user: string; password: string; statsPeriodSecs?: number } | null;
}

export interface RenderedJanusConfig {
  /** file name → content, to be written into configDir (they contain secrets: mode 0600) */
  files: Record<JanusTemplateName, string> & { [EVENT_HANDLER_CONFIG]?: string };
  /** the command line that starts Janus with these files */
  args: string[];
}

export class JanusConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Janus configuration: ${problems.join('; ')}`);
    this.name = 'JanusConfigError';
  }
}

/** Four peer connections per 1:1 call, one port each with BUNDLE: room for ~50 calls. */
export const DEFAULT_RTP_PORT_RANGE = { min: 20000, max: 20199 } as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** an interface name or the start of an address, as Janus's enforce/ignore lists accept */
const INTERFACE_OR_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,39}$/;
const ACL_ENTRY = /^[0-9A-Fa-f.:]{1,45}$/;
const MODULE_FILE = /^[A-Za-z0-9_.-]+\.so$/;

/** Every problem of the options at once (empty when valid). */
export function checkJanusConfigOptions(o: JanusConfigOptions): string[] {
  const problems: string[] = [];
  const absolute = (name: string, v: unknown) => {
    if (typeof v !== 'string' || !v.startsWith('/') || hasControlCharacter(v) || /["\\]/.test(v)) problems.push(`${name}: must be an absolute path without quotes or control characters`);
  };
  const secret = (name: string, v: unknown, required: boolean) => {
    if (v === undefined || v === null) {
      if (required) problems.push(`${name}: required`);
      return;
    }
    if (typeof v !== 'string' || v.length < 16 || v.length > 256 || !/^[\x21-\x7e]+$/.test(v)) {
      problems.push(`${name}: must be 16–256 printable characters without spaces`);
    }
  };
  const port = (name: string, v: unknown) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535)) problems.push(`${name}: must be a port number 1–65535`);
  };
  const address = (name: string, v: unknown) => {
    if (v !== undefined && (typeof v !== 'string' || !(IPV4.test(v) || HOSTNAME.test(v)))) problems.push(`${name}: must be an IPv4 address or a host name`);
  };
  const intIn = (name: string, v: unknown, min: number, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min || (v as number) > max)) problems.push(`${name}: must be an integer ${min}–${max}`);
  };
  const listener = (name: string, l: JanusListener | undefined) => {
    if (!l) return;
    if (l.host !== undefined && !(typeof l.host === 'string' && IPV4.test(l.host))) problems.push(`${name}.host: must be an IPv4 address`);
    port(`${name}.port`, l.port);
    if (l.acl !== undefined && (!Array.isArray(l.acl) || l.acl.length === 0 || !l.acl.every((a) => typeof a === 'string' && ACL_ENTRY.test(a)))) {
      problems.push(`${name}.acl: must be a non-empty list of address prefixes`);
    }
  };

  absolute('configDir', o.configDir);
  absolute('logFile', o.logFile);
  if (o.libDir !== undefined) absolute('libDir', o.libDir);
  if (o.serverName !== undefined && !(typeof o.serverName === 'string' && /^[A-Za-z0-9 _.-]{1,64}$/.test(o.serverName))) problems.push('serverName: letters, digits, space, _ . - (1–64)');
  intIn('debugLevel', o.debugLevel, 0, 7);
  intIn('sessionTimeoutSecs', o.sessionTimeoutSecs, 10, 3600);
  intIn('slowlinkThreshold', o.slowlinkThreshold, 0, 1000);
  secret('adminSecret', o.adminSecret, true);
  secret('apiSecret', o.apiSecret, false);
  secret('videoroomAdminKey', o.videoroomAdminKey, true);
  listener('ws', o.ws);
  if (o.admin !== false) listener('admin', o.admin);
  const wsPort = o.ws?.port ?? 8288;
  const adminPort = o.admin === false ? null : (o.admin?.port ?? 8289);
  if (adminPort !== null && adminPort === wsPort) problems.push('admin.port: must differ from ws.port');
  const { min, max } = o.rtpPortRange ?? DEFAULT_RTP_PORT_RANGE;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || max - min < 7) {
    problems.push('rtpPortRange: min and max must be ports ≥ 1024 with at least 8 ports between them');
  } else if ([wsPort, adminPort].some((p) => p !== null && p >= min && p <= max)) {
    problems.push('rtpPortRange: must not contain the WebSocket ports');
  }
  if (o.sdpAddress !== undefined && !(typeof o.sdpAddress === 'string' && IPV4.test(o.sdpAddress))) problems.push('sdpAddress: must be an IPv4 address');
  if (o.mediaInterface !== undefined && o.mediaInterface !== null && !(typeof o.mediaInterface === 'string' && INTERFACE_OR_PREFIX.test(o.mediaInterface))) {
    problems.push('mediaInterface: must be an interface name or address prefix');
  }
  if (o.iceIgnoreList !== undefined && !(Array.isArray(o.iceIgnoreList) && o.iceIgnoreList.every((i) => typeof i === 'string' && INTERFACE_OR_PREFIX.test(i)))) {
    problems.push('iceIgnoreList: must list interface names or address prefixes');
  }
  if (
    o.natOneToOneMapping !== undefined &&
    !(Array.isArray(o.natOneToOneMapping) && o.natOneToOneMapping.length > 0 && o.natOneToOneMapping.every((a) => typeof a === 'string' && IPV4.test(a)))
  ) {
    problems.push('natOneToOneMapping: must list IPv4 addresses');
  }
  if (o.keepPrivateHost && !o.natOneToOneMapping) problems.push('keepPrivateHost: only meaningful with natOneToOneMapping');
  if (o.stunServer) {
    address('stunServer.host', o.stunServer.host);
    port('stunServer.port', o.stunServer.port);
  }
  if (o.turnServer) {
    address('turnServer.host', o.turnServer.host);
    port('turnServer.port', o.turnServer.port);
    if (o.turnServer.type !== undefined && !['udp', 'tcp', 'tls'].includes(o.turnServer.type)) problems.push('turnServer.type: udp, tcp or tls');
    for (const k of ['user', 'password'] as const) {
      const v = o.turnServer[k];
      if (v !== undefined && !(typeof v === 'string' && /^[\x21-\x7e]{1,256}$/.test(v))) problems.push(`turnServer.${k}: 1–256 printable characters without spaces`);
    }
    if ((o.turnServer.user === undefined) !== (o.turnServer.password === undefined)) problems.push('turnServer: user and password go together');
  }
  if (o.dtlsCertificate) {
    absolute('dtlsCertificate.certFile', o.dtlsCertificate.certFile);
    absolute('dtlsCertificate.keyFile', o.dtlsCertificate.keyFile);
  }
  if (o.eventHandler) {
    let url: URL | null = null;
    try {
      url = new URL(o.eventHandler.backend);
    } catch {
      /* reported below */
    }
    if (!url || url.protocol !== 'http:' || url.username || url.password || hasControlCharacter(o.eventHandler.backend) || /["\\\s]/.test(o.eventHandler.backend)) {
      problems.push('eventHandler.backend: must be an http:// URL without credentials, quotes or spaces');
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.eventHandler.user)) problems.push('eventHandler.user: letters, digits, _ and - (1–64)');
    secret('eventHandler.password', o.eventHandler.password, true);
    intIn('eventHandler.statsPeriodSecs', o.eventHandler.statsPeriodSecs, 1, 300);
  }
  const modules = o.modules ?? DEBIAN_JANUS_MODULES;
  if (o.eventHandler && Array.isArray(modules.events) && !modules.events.includes(EVENT_HANDLER)) problems.push(`modules.events: ${EVENT_HANDLER} is not installed`);
  for (const kind of ['plugins', 'transports', 'events', 'loggers'] as const) {
    if (!Array.isArray(modules[kind]) || !modules[kind].every((m) => typeof m === 'string' && MODULE_FILE.test(m))) problems.push(`modules.${kind}: must list *.so file names`);
  }
  if (Array.isArray(modules.plugins) && !modules.plugins.includes(REQUIRED_PLUGIN)) problems.push(`modules.plugins: ${REQUIRED_PLUGIN} is not installed`);
  if (Array.isArray(modules.transports) && !modules.transports.includes(REQUIRED_TRANSPORT)) problems.push(`modules.transports: ${REQUIRED_TRANSPORT} is not installed`);
  return problems;
}

/**
 * A C0 control character (U+0000–U+001F), or DEL too when asked. Compared by code so the patterns stay free of
 * control-character escapes (which a linter rightly takes for mistakes elsewhere).
 */
function hasControlCharacter(value: string, { del = false } = {}): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (del && code === 0x7f)) return true;
  }
  return false;
}

/** A libconfig string literal. */
export function quote(value: string): string {
  if (hasControlCharacter(value, { del: true })) throw new JanusConfigError([`value contains a control character`]);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Replaces every {{name}}; a placeholder without a value, or a value without a placeholder, is an error. */
export function fillTemplate(name: string, template: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const missing = new Set<string>();
  const out = template.replace(/\{\{([a-z_]+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) {
      missing.add(key);
      return '';
    }
    used.add(key);
    return v;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  const problems = [...[...missing].map((k) => `${name}: no value for {{${k}}}`), ...unused.map((k) => `${name}: template has no {{${k}}}`)];
  if (problems.length > 0) throw new JanusConfigError(problems);
  return out;
}

const bool = (v: boolean): string => (v ? 'true' : 'false');
const list = (items: string[]): string => quote(items.join(','));
/** Lines of an optional setting; an empty string leaves a blank line in the file. */
const lines = (entries: [string, string][]): string => entries.map(([k, v]) => `\t${k} = ${v}`).join('\n');

export function janusCommandArgs(configDir: string, logFile: string): string[] {
  // -N: no stdout logging (the log file is enough), -o: no colour codes in the log file.
  return ['-C', join(configDir, 'janus.jcfg'), '-F', configDir, '-L', logFile, '-N', '-o'];
}

export function renderJanusConfig(options: JanusConfigOptions, templates: JanusTemplates): RenderedJanusConfig {
  const problems = checkJanusConfigOptions(options);
  if (problems.length > 0) throw new JanusConfigError(problems);
  const o = options;
  const libDir = o.libDir ?? DEBIAN_JANUS_LIB_DIR;
  const modules = o.modules ?? DEBIAN_JANUS_MODULES;
  const ws = { host: o.ws?.host ?? '127.0.0.1', port: o.ws?.port ?? 8288, acl: o.ws?.acl };
  const admin = o.admin === false ? null : { host: o.admin?.host ?? '127.0.0.1', port: o.admin?.port ?? 8289, acl: o.admin?.acl };
  const rtp = o.rtpPortRange ?? DEFAULT_RTP_PORT_RANGE;
  const except = (all: string[], keep: string | null) => all.filter((m) => m !== keep).sort();

  const nat: [string, string][] = [];
  if (o.stunServer) nat.push(['stun_server', quote(o.stunServer.host)], ['stun_port', String(o.stunServer.port ?? 3478)]);
  if (o.natOneToOneMapping) nat.push(['nat_1_1_mapping', list(o.natOneToOneMapping)], ['keep_private_host', bool(o.keepPrivateHost ?? false)]);
  if (o.turnServer) {
    nat.push(['turn_server', quote(o.turnServer.host)], ['turn_port', String(o.turnServer.port ?? 3478)], ['turn_type', quote(o.turnServer.type ?? 'udp')]);
    if (o.turnServer.user !== undefined && o.turnServer.password !== undefined) nat.push(['turn_user', quote(o.turnServer.user)], ['turn_pwd', quote(o.turnServer.password)]);
  }
  if (o.stunServer || o.turnServer) nat.push(['ignore_unreachable_ice_server', 'true']);

  const iface: [string, string][] = [['ice_ignore_list', list(o.iceIgnoreList ?? ['vmnet'])]];
  if (o.mediaInterface) iface.unshift(['ice_enforce_list', quote(o.mediaInterface)]);

  const core = fillTemplate('janus.jcfg', templates['janus.jcfg'], {
    configs_folder: quote(o.configDir),
    plugins_folder: quote(join(libDir, 'plugins')),
    transports_folder: quote(join(libDir, 'transports')),
    events_folder: quote(join(libDir, 'events')),
    loggers_folder: quote(join(libDir, 'loggers')),
    log_file: quote(o.logFile),
    debug_level: String(o.debugLevel ?? 4),
    server_name: quote(o.serverName ?? 'kyc-appliance'),
    sdp_address: quote(o.sdpAddress ?? '127.0.0.1'),
    session_timeout: String(o.sessionTimeoutSecs ?? 60),
    admin_secret: quote(o.adminSecret),
    api_secret_line: o.apiSecret ? lines([['api_secret', quote(o.apiSecret)]]) : '',
    dtls_certificate_lines: o.dtlsCertificate
      ? lines([
          ['cert_pem', quote(o.dtlsCertificate.certFile)],
          ['cert_key', quote(o.dtlsCertificate.keyFile)],
        ])
      : '',
    rtp_port_range: quote(`${rtp.min}-${rtp.max}`),
    slowlink_threshold: String(o.slowlinkThreshold ?? 4),
    full_trickle: bool(o.fullTrickle ?? true),
    ignore_mdns: bool(o.ignoreMdns ?? true),
    ice_lite: bool(o.iceLite ?? false),
    ice_interface_lines: lines(iface),
    nat_lines: lines(nat),
    disabled_plugins: list(except(modules.plugins, REQUIRED_PLUGIN)),
    disabled_transports: list(except(modules.transports, REQUIRED_TRANSPORT)),
    disabled_loggers: list(except(modules.loggers, null)),
    events_broadcast: bool(Boolean(o.eventHandler)),
    stats_period: String(o.eventHandler?.statsPeriodSecs ?? 5),
    disabled_event_handlers: list(except(modules.events, o.eventHandler ? EVENT_HANDLER : null)),
  });
  const transport = fillTemplate('janus.transport.websockets.jcfg', templates['janus.transport.websockets.jcfg'], {
    ws_ip: quote(ws.host),
    ws_port: String(ws.port),
    ws_acl: list(ws.acl ?? [ws.host]),
    admin_ws: bool(admin !== null),
    admin_ws_ip: quote(admin?.host ?? '127.0.0.1'),
    admin_ws_port: String(admin?.port ?? 8289),
    admin_ws_acl: list(admin?.acl ?? [admin?.host ?? '127.0.0.1']),
  });
  const videoroom = fillTemplate('janus.plugin.videoroom.jcfg', templates['janus.plugin.videoroom.jcfg'], {
    admin_key: quote(o.videoroomAdminKey),
  });
  return {
    files: {
      'janus.jcfg': core,
      'janus.transport.websockets.jcfg': transport,
      'janus.plugin.videoroom.jcfg': videoroom,
      ...(o.eventHandler ? { [EVENT_HANDLER_CONFIG]: renderEventHandler(o.eventHandler) } : {}),
    },
    args: janusCommandArgs(o.configDir, o.logFile),
  };
}

/** The sample event handler's file: grouped compact JSON, only the event types the appliance reads. */
function renderEventHandler(e: NonNullable<JanusConfigOptions['eventHandler']>): string {
  return `# Rendered by the appliance: Janus POSTs webrtc and media events to the appliance's metrics listener.
general: {
${lines([
  ['enabled', 'true'],
  ['events', quote(EVENT_HANDLER_EVENTS)],
  ['grouping', 'true'],
  ['json', quote('compact')],
  ['backend', quote(e.backend)],
  ['backend_user', quote(e.user)],
  ['backend_pwd', quote(e.password)],
  ['max_retransmissions', '2'],
  ['retransmissions_backoff', '100'],
])}
}
`;
}

export async function loadJanusTemplates(dir: string = JANUS_TEMPLATE_DIR): Promise<JanusTemplates> {
  const entries = await Promise.all(JANUS_TEMPLATE_NAMES.map(async (name) => [name, await readFile(join(dir, name), 'utf8')] as const));
  return Object.fromEntries(entries) as JanusTemplates;
}
