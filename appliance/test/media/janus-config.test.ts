import t from 'tap';
import {
  checkJanusConfigOptions,
  DEBIAN_JANUS_MODULES,
  fillTemplate,
  JanusConfigError,
  loadJanusTemplates,
  quote,
  renderJanusConfig,
  type JanusConfigOptions,
} from '../../src/media/janus-config.js';

const base: JanusConfigOptions = {
  configDir: '/run/kyc/janus',
  logFile: '/var/log/kyc/janus.log',
  adminSecret: 'admin-secret-0123456789',
  videoroomAdminKey: 'room-admin-key-0123456789',
};

/** `key = value` of one top-level section, as Janus would read it (enough for these flat files). */
function section(file: string, name: string): Map<string, string> {
  const start = file.indexOf(`\n${name}: {`);
  if (start < 0) throw new Error(`no section ${name}`);
  const body = file.slice(start, file.indexOf('\n}', start));
  const out = new Map<string, string>();
  for (const line of body.split('\n')) {
    const m = /^\t([a-z_0-9]+) = (.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

t.test('defaults: loopback WebSocket API and admin API, only VideoRoom and WebSockets loaded', async (t) => {
  const templates = await loadJanusTemplates();
  const { files, args } = renderJanusConfig(base, templates);

  const general = section(files['janus.jcfg'], 'general');
  t.equal(general.get('configs_folder'), '"/run/kyc/janus"');
  t.equal(general.get('log_to_file'), '"/var/log/kyc/janus.log"');
  t.equal(general.get('admin_secret'), '"admin-secret-0123456789"');
  t.equal(general.get('interface'), '"127.0.0.1"');
  t.notOk(general.has('api_secret'), 'no API secret unless asked for');
  t.equal(general.get('plugins_folder'), '"/usr/lib/x86_64-linux-gnu/janus/plugins"');

  const nat = section(files['janus.jcfg'], 'nat');
  t.equal(nat.get('full_trickle'), 'true');
  t.equal(nat.get('ignore_mdns'), 'true');
  t.notOk(nat.has('ice_enforce_list'), 'all interfaces when none is chosen');
  t.notOk(nat.has('stun_server'));
  t.notOk(nat.has('turn_server'));
  t.equal(section(files['janus.jcfg'], 'media').get('rtp_port_range'), '"20000-20199"');

  const disabledPlugins = JSON.parse(section(files['janus.jcfg'], 'plugins').get('disable') ?? '""').split(',');
  t.notOk(disabledPlugins.includes('libjanus_videoroom.so'));
  t.same(disabledPlugins.length, DEBIAN_JANUS_MODULES.plugins.length - 1, 'every other plugin is disabled');
  const disabledTransports = JSON.parse(section(files['janus.jcfg'], 'transports').get('disable') ?? '""').split(',');
  t.notOk(disabledTransports.includes('libjanus_websockets.so'));
  t.ok(disabledTransports.includes('libjanus_http.so'));
  t.ok(JSON.parse(section(files['janus.jcfg'], 'events').get('disable') ?? '""').includes('libjanus_wsevh.so'));

  const ws = section(files['janus.transport.websockets.jcfg'], 'general');
  t.equal(ws.get('ws_ip'), '"127.0.0.1"');
  t.equal(ws.get('ws_port'), '8288');
  t.equal(ws.get('ws_acl'), '"127.0.0.1"');
  t.equal(ws.get('wss'), 'false');
  const admin = section(files['janus.transport.websockets.jcfg'], 'admin');
  t.equal(admin.get('admin_ws'), 'true');
  t.equal(admin.get('admin_ws_port'), '8289');
  t.equal(admin.get('admin_ws_acl'), '"127.0.0.1"');

  t.equal(section(files['janus.plugin.videoroom.jcfg'], 'general').get('admin_key'), '"room-admin-key-0123456789"');
  t.notMatch(files['janus.plugin.videoroom.jcfg'], /^room-/m, 'no static rooms');
  t.same(args, ['-C', '/run/kyc/janus/janus.jcfg', '-F', '/run/kyc/janus', '-L', '/var/log/kyc/janus.log', '-N', '-o']);
  for (const [name, content] of Object.entries(files)) t.notMatch(content, /\{\{/, `${name}: every placeholder filled`);
});

t.test('LAN deployment: media interface, ports, 1:1 NAT, STUN and TURN', async (t) => {
  const templates = await loadJanusTemplates();
  const { files } = renderJanusConfig(
    {
      ...base,
      apiSecret: 'api-secret-0123456789ab',
      ws: { port: 9188, acl: ['127.0.0.1', '::1'] },
      admin: { port: 9189 },
      rtpPortRange: { min: 30000, max: 30999 },
      mediaInterface: 'ens192',
      iceIgnoreList: ['vmnet', 'docker'],
      natOneToOneMapping: ['203.0.113.7'],
      keepPrivateHost: true,
      stunServer: { host: 'stun.branch.example' },
      turnServer: { host: '10.1.2.3', port: 3479, type: 'tcp', user: 'kyc', password: 'turn-pass' },
      slowlinkThreshold: 8,
      dtlsCertificate: { certFile: '/etc/kyc/janus-dtls.pem', keyFile: '/etc/kyc/janus-dtls.key' },
    },
    templates,
  );
  const nat = section(files['janus.jcfg'], 'nat');
  t.equal(nat.get('ice_enforce_list'), '"ens192"');
  t.equal(nat.get('ice_ignore_list'), '"vmnet,docker"');
  t.equal(nat.get('nat_1_1_mapping'), '"203.0.113.7"');
  t.equal(nat.get('keep_private_host'), 'true');
  t.equal(nat.get('stun_server'), '"stun.branch.example"');
  t.equal(nat.get('stun_port'), '3478');
  t.equal(nat.get('turn_server'), '"10.1.2.3"');
  t.equal(nat.get('turn_port'), '3479');
  t.equal(nat.get('turn_type'), '"tcp"');
  t.equal(nat.get('turn_user'), '"kyc"');
  t.equal(nat.get('turn_pwd'), '"turn-pass"');
  t.equal(section(files['janus.jcfg'], 'general').get('api_secret'), '"api-secret-0123456789ab"');
  t.equal(section(files['janus.jcfg'], 'media').get('rtp_port_range'), '"30000-30999"');
  t.equal(section(files['janus.jcfg'], 'media').get('slowlink_threshold'), '8');
  t.equal(section(files['janus.jcfg'], 'certificates').get('cert_pem'), '"/etc/kyc/janus-dtls.pem"');
  const ws = section(files['janus.transport.websockets.jcfg'], 'general');
  t.equal(ws.get('ws_port'), '9188');
  t.equal(ws.get('ws_acl'), '"127.0.0.1,::1"');
  t.equal(section(files['janus.transport.websockets.jcfg'], 'admin').get('admin_ws_port'), '9189');
});

t.test('the admin API can be switched off', async (t) => {
  const { files } = renderJanusConfig({ ...base, admin: false }, await loadJanusTemplates());
  t.equal(section(files['janus.transport.websockets.jcfg'], 'admin').get('admin_ws'), 'false');
});

t.test('modules come from the inventory: unknown extra plugins are disabled too', async (t) => {
  const modules = { ...DEBIAN_JANUS_MODULES, plugins: [...DEBIAN_JANUS_MODULES.plugins, 'libjanus_future.so'] };
  const { files } = renderJanusConfig({ ...base, modules }, await loadJanusTemplates());
  t.match(section(files['janus.jcfg'], 'plugins').get('disable'), /libjanus_future\.so/);
  t.throws(
    () =>
      renderJanusConfig(
        { ...base, modules: { ...modules, plugins: ['libjanus_echotest.so'] } },
        { 'janus.jcfg': '', 'janus.transport.websockets.jcfg': '', 'janus.plugin.videoroom.jcfg': '' },
      ),
    /libjanus_videoroom\.so is not installed/,
  );
});

t.test('every bad option is reported together, nothing is rendered', async (t) => {
  const problems = checkJanusConfigOptions({
    configDir: 'relative/dir',
    logFile: '/tmp/x"y.log',
    adminSecret: 'short',
    videoroomAdminKey: 'has spaces in it, which is not allowed',
    ws: { host: 'localhost', port: 70000 },
    admin: { port: 8288 },
    rtpPortRange: { min: 8000, max: 8003 },
    mediaInterface: 'eth0; rm -rf /',
    natOneToOneMapping: ['not-an-ip'],
    turnServer: { host: 'turn..bad', user: 'only-user' },
    debugLevel: 9,
  });
  const keys = problems.map((p) => p.split(':')[0]);
  t.same(
    keys.sort(),
    [
      'adminSecret',
      'configDir',
      'debugLevel',
      'logFile',
      'mediaInterface',
      'natOneToOneMapping',
      'rtpPortRange',
      'turnServer',
      'turnServer.host',
      'videoroomAdminKey',
      'ws.host',
      'ws.port',
    ].sort(),
  );
  const templates = await loadJanusTemplates();
  t.throws(() => renderJanusConfig({ ...base, adminSecret: 'x' }, templates), JanusConfigError);
  t.throws(() => renderJanusConfig({ ...base, ws: { port: 20100 } }, templates), /rtpPortRange: must not contain the WebSocket ports/);
});

t.test('strings are quoted for libconfig; control characters are refused', async (t) => {
  t.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  t.throws(() => quote('line\nbreak'), JanusConfigError);
});

t.test('templates and values must match exactly', async (t) => {
  t.equal(fillTemplate('x', 'a = {{a}}\n', { a: '1' }), 'a = 1\n');
  t.throws(() => fillTemplate('x', 'a = {{a}} b = {{b}}', { a: '1' }), /no value for \{\{b\}\}/);
  t.throws(() => fillTemplate('x', 'a = {{a}}', { a: '1', c: '2' }), /template has no \{\{c\}\}/);
});

t.test('event handler: off by default; on, only the sample handler loads and POSTs webrtc and media events', async (t) => {
  const templates = await loadJanusTemplates();
  const off = renderJanusConfig(base, templates);
  t.equal(section(off.files['janus.jcfg'], 'events').get('broadcast'), 'false');
  t.ok(
    JSON.parse(section(off.files['janus.jcfg'], 'events').get('disable') ?? '""')
      .split(',')
      .includes('libjanus_sampleevh.so'),
  );
  t.notOk('janus.eventhandler.sampleevh.jcfg' in off.files, 'no handler file');

  const on = renderJanusConfig({ ...base, eventHandler: { backend: 'http://127.0.0.1:9464/internal/janus-events', user: 'janus', password: 'events-secret-0123456789' } }, templates);
  const events = section(on.files['janus.jcfg'], 'events');
  t.equal(events.get('broadcast'), 'true');
  t.equal(events.get('stats_period'), '5');
  const disabled = JSON.parse(events.get('disable') ?? '""').split(',');
  t.notOk(disabled.includes('libjanus_sampleevh.so'), 'the sample handler loads');
  t.same(disabled.length, DEBIAN_JANUS_MODULES.events.length - 1, 'every other handler is disabled');
  const evh = section(on.files['janus.eventhandler.sampleevh.jcfg'] ?? '', 'general');
  t.equal(evh.get('enabled'), 'true');
  t.equal(evh.get('events'), '"webrtc,media"');
  t.equal(evh.get('grouping'), 'true');
  t.equal(evh.get('backend'), '"http://127.0.0.1:9464/internal/janus-events"');
  t.equal(evh.get('backend_user'), '"janus"');
  t.equal(evh.get('backend_pwd'), '"events-secret-0123456789"');

  const bad = checkJanusConfigOptions({ ...base, eventHandler: { backend: 'https://u:p@x/"', user: 'a b', password: 'short', statsPeriodSecs: 0 } });
  for (const k of ['eventHandler.backend', 'eventHandler.user', 'eventHandler.password', 'eventHandler.statsPeriodSecs'])
    t.ok(
      bad.some((p) => p.startsWith(k)),
      `${k} refused`,
    );
});
