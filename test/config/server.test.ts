import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultConfig, parseConfigText } from '../../src/config/load.js';
import { SERVER_KEYS } from '../../src/config/schema.js';
import { assertPlace, failure, siteDir } from './helpers.js';

const server = (body: string, file = '/etc/skitai/site.conf', dir = '/srv/site') => parseConfigText(`[server]\n${body}\n`, file, dir).server;

describe('[server] defaults', () => {
  test('an empty file gives every schema default', () => {
    const s = parseConfigText('', '<inline>').server;
    for (const spec of SERVER_KEYS) {
      if (spec.key === 'name') continue;
      assert.deepEqual(s[spec.prop], spec.default, spec.key);
    }
    assert.equal(s.name, 'skitai');
  });

  test('the defaults the rest of Skitai relies on', () => {
    const s = defaultConfig().server;
    assert.equal(s.port, 5000);
    assert.equal(s.ip, '');
    assert.equal(s.processes, 1);
    assert.equal(s.threads, 4);
    assert.equal(s.maxBodySize, 5242880);
    assert.equal(s.maxProxyBodySize, undefined, 'unset: the reverse proxy takes max_body_size');
    assert.equal(s.maxUploadSize, 2 * 1024 ** 3);
    assert.equal(s.maxHeaderSize, 16384);
    assert.equal(s.headerTimeout, 30_000);
    assert.equal(s.requestTimeout, 300_000);
    assert.equal(s.keepAlive, 10_000);
    assert.equal(s.sessiontimeout, 1_200_000);
    assert.equal(s.enableProxy, false);
    assert.equal(s.accessLog, 'console');
    assert.equal(s.accessLogFormat, 'auto');
    assert.equal(s.logFormat, 'auto');
    assert.equal(s.logLevel, 'info');
  });

  test('name defaults to the config file base name', () => {
    assert.equal(server('', '/etc/skitaid/servers-enabled/default.conf').name, 'default');
    assert.equal(server('name = www').name, 'www');
  });
});

describe('[server] values of every type', () => {
  test('every key set to a non-default value', () => {
    const s = server(
      [
        'name = api', 'ip = 127.0.0.1', 'port = 8080', 'processes = 2', 'threads = 8', 'devel = YES',
        'certfile = cert/server.pem', 'keyfile = /etc/key.pem', 'passphrase = p4ss',
        'enable_proxy = on', 'static_max_age = 60', 'static_cache_file_max = 128k', 'static_cache_size = 1M', 'static_cache_hot_size = 8M',
        'static_precompressed = no', 'num_result_cache_max = 0', 'max_body_size = 1MB', 'max_proxy_body_size = 20M', 'max_upload_size = 10MiB', 'max_header_size = 32KiB',
        'header_timeout = 500ms', 'request_timeout = 0', 'keep_alive = 1m', 'max_requests_per_socket = 100',
        'compress_min_size = 0', 'trusted_proxies = 127.0.0.1, 10.0.0.0/8', 'access_log = logs/access.log',
        'access_log_format = JSON', 'log_format = Text', 'log_level = warn', 'log_path = logs', 'var_path = /var/skitai', 'securekey = s3cret-key',
        'securekey_previous = 0ld-s3cret', 'sessiontimeout = 1h', 'admin_password = adm1n-pw', 'auth_failure_limit = 3', 'status_path = /server-status', 'pid_file = run/api.pid', 'grace_period = 30s',
        'proxy_allow = 10.0.0.0/8', 'proxy_connect_ports = 443, 8000-8099', 'proxy_connect_timeout = 2s',
        'proxy_timeout = 5m', 'proxy_idle_timeout = 90', 'ready_path = /ready', 'metrics_path = /metrics', 'metrics_allow = 10.0.0.0/8, ::1',
        'max_ws_message_size = 64k', 'ws_idle_timeout = 2m', 'ws_max_buffered = 512k', 'ws_slow_client = drop', 'ws_compression = yes',
        'cors_origins = https://app.example.com, https://*.example.org', 'cors_paths = /api', 'cors_methods = GET, PUT', 'cors_headers = *',
        'cors_expose_headers = X-Request-Id', 'cors_credentials = yes', 'cors_max_age = 10m',
        'http2 = H2C', 'h2_max_concurrent_streams = 64',
      ].join('\n'),
    );
    assert.deepEqual(
      {
        ...s, trustedProxies: [...s.trustedProxies], proxyAllow: [...s.proxyAllow], proxyConnectPorts: [...s.proxyConnectPorts], metricsAllow: [...s.metricsAllow],
        corsOrigins: [...s.corsOrigins], corsPaths: [...s.corsPaths], corsMethods: [...s.corsMethods], corsHeaders: [...s.corsHeaders], corsExposeHeaders: [...s.corsExposeHeaders],
      },
      {
        name: 'api', ip: '127.0.0.1', port: 8080, processes: 2, threads: 8, devel: true, ssl: false, http2: 'h2c', h2MaxConcurrentStreams: 64,
        certfile: '/srv/site/cert/server.pem', keyfile: '/etc/key.pem', passphrase: 'p4ss',
        enableProxy: true, staticMaxAge: 60, staticCacheFileMax: 131072, staticCacheSize: 1048576, staticCacheHotSize: 8388608,
        staticPrecompressed: false, numResultCacheMax: 0, maxBodySize: 1048576, maxProxyBodySize: 20971520, maxUploadSize: 10485760, maxHeaderSize: 32768,
        headerTimeout: 500, requestTimeout: 0, keepAlive: 60_000, maxRequestsPerSocket: 100,
        compressMinSize: 0, trustedProxies: ['127.0.0.1', '10.0.0.0/8'], accessLog: '/srv/site/logs/access.log',
        accessLogFormat: 'json', logFormat: 'text', logLevel: 'warn', logPath: '/srv/site/logs', varPath: '/var/skitai', securekey: 's3cret-key',
        securekeyPrevious: '0ld-s3cret', sessiontimeout: 3_600_000, adminPassword: 'adm1n-pw', authFailureLimit: 3, statusPath: '/server-status', pidFile: '/srv/site/run/api.pid', gracePeriod: 30_000,
        redirectHttpPort: 0, proxyAllow: ['10.0.0.0/8'], proxyConnectPorts: ['443', '8000-8099'], proxyConnectTimeout: 2000,
        proxyTimeout: 300_000, proxyIdleTimeout: 90_000, readyPath: '/ready', metricsPath: '/metrics', metricsAllow: ['10.0.0.0/8', '::1'],
        maxWsMessageSize: 65536, wsIdleTimeout: 120_000, wsMaxBuffered: 524288, wsSlowClient: 'drop', wsCompression: true,
        corsOrigins: ['https://app.example.com', 'https://*.example.org'], corsPaths: ['/api'], corsMethods: ['GET', 'PUT'], corsHeaders: ['*'],
        corsExposeHeaders: ['X-Request-Id'], corsCredentials: true, corsMaxAge: 600_000,
      },
    );
  });

  test('the old name "proxy" sets enable_proxy', () => {
    assert.equal(server('proxy = yes').enableProxy, true);
    assert.equal(server('proxy = no').enableProxy, false);
  });

  test('"proxy" and "enable_proxy" together are a duplicate key', () => {
    const err = failure('SKT_CONFIG_SYNTAX', () => server('enable_proxy = no\nproxy = yes'));
    assertPlace(err, 3, 'proxy');
    assert.match(err.message, /line 2/);
  });

  test('access_log keywords are kept, not resolved as paths', () => {
    assert.equal(server('access_log = OFF').accessLog, 'off');
    assert.equal(server('access_log = console').accessLog, 'console');
  });

  test('empty optional values mean "not set"', () => {
    const s = server('keyfile =\npassphrase =\nip =\ntrusted_proxies =\naccess_log =');
    assert.equal(s.keyfile, undefined);
    assert.equal(s.passphrase, undefined);
    assert.equal(s.ip, '');
    assert.deepEqual(s.trustedProxies, []);
    assert.equal(s.accessLog, 'console');
  });

  test('inline comments and continuation lines', () => {
    const s = server('port = 5001 ; dev port\ntrusted_proxies = 127.0.0.1,\n    10.0.0.0/8 # lan\n    ::1');
    assert.equal(s.port, 5001);
    assert.deepEqual(s.trustedProxies, ['127.0.0.1', '10.0.0.0/8', '::1']);
  });

  test('port 0 is allowed (ephemeral, for tests)', () => {
    assert.equal(server('port = 0').port, 0);
  });
});

describe('[server] errors name file, line and key', () => {
  test('an unknown key is rejected, with a suggestion', () => {
    const err = failure('SKT_CONFIG_UNKNOWN_KEY', () => server('port = 1\nmax_body_sise = 1M'));
    assertPlace(err, 3, 'max_body_sise');
    assert.match(err.message, /\/etc\/skitai\/site\.conf/);
    assert.match(err.message, /did you mean "max_body_size"/);
  });

  const bad: [string, RegExp][] = [
    ['port = 70000', /0 to 65535/],
    ['port = http', /whole number/],
    ['processes = 0', /1 to 1024/],
    ['threads = 2000', /0 to 1024/],
    ['devel = maybe', /yes or no/],
    ['max_body_size = 5X', /size/],
    ['max_header_size = 100', /1KiB to 1MiB/],
    ['header_timeout = 10d', /duration/],
    ['keep_alive = 0', /1ms to 1h/],
    ['access_log_format = xml', /one of auto, skitai, json/],
    ['log_format = xml', /one of auto, json, text/],
    ['log_level = trace', /one of debug, info, warn, error/],
    ['trusted_proxies = 127.0.0.1, localhost', /"localhost" is not one/],
    ['name = my site', /letters, digits/],
    ['ip = *', /IP address or host name/],
  ];
  for (const [line, expected] of bad) {
    test(line, () => {
      const key = line.split('=')[0]!.trim();
      const err = failure('SKT_CONFIG_VALUE', () => server(`; filler\n${line}`, '/etc/skitai/site.conf'));
      assertPlace(err, 3, key);
      assert.match(err.message, /\/etc\/skitai\/site\.conf/);
      assert.match(err.message, /\[server\]/);
      assert.match(err.message, expected);
    });
  }

  test('a bad value is quoted so the user sees it', () => {
    assert.match(failure('SKT_CONFIG_VALUE', () => server('port = http')).message, /got "http"/);
  });

  for (const key of ['securekey', 'securekey_previous', 'admin_password']) {
    test(`${key}: a bad value is hidden from the message`, () => {
      const err = failure('SKT_CONFIG_VALUE', () => server(`${key} = abc12`));
      assertPlace(err, 2, key);
      assert.doesNotMatch(err.message, /abc12/);
      assert.match(err.message, /value hidden/);
      assert.match(err.message, /at least 6/);
    });
  }

  test('a misspelt secret key does not echo its value', () => {
    const err = failure('SKT_CONFIG_UNKNOWN_KEY', () => server('pasphrase = topsecret'));
    assert.doesNotMatch(err.message, /topsecret/);
  });

  test('ssl = yes without certfile names the ssl line', () => {
    assertPlace(failure('SKT_CONFIG_VALUE', () => server('port = 1\nssl = yes')), 3, 'ssl');
  });

  test('ssl = yes with a missing certfile names the certfile line and path', () => {
    const err = failure('SKT_CONFIG_VALUE', () => server('certfile = nope.pem\nssl = yes'));
    assertPlace(err, 2, 'certfile');
    assert.ok(err.message.includes(path.join('/srv/site', 'nope.pem')));
  });

  test('ssl = yes with an existing certfile resolves it against the config dir', () => {
    const dir = siteDir({ 'cert/server.pem': 'PEM' });
    const s = parseConfigText('[server]\nssl = yes\ncertfile = cert/server.pem\n', 'site.conf', dir).server;
    assert.equal(s.certfile, path.join(dir, 'cert/server.pem'));
  });

  test('redirect_http_port needs ssl = yes and a port of its own', () => {
    assertPlace(failure('SKT_CONFIG_VALUE', () => server('redirect_http_port = 8080')), 2, 'redirect_http_port');
    const dir = siteDir({ 'cert.pem': 'PEM' });
    const conf = (extra: string) => parseConfigText(`[server]\nssl = yes\ncertfile = cert.pem\nport = 8443\n${extra}\n`, 'site.conf', dir).server;
    assert.equal(conf('redirect_http_port = 8080').redirectHttpPort, 8080);
    assert.match(failure('SKT_CONFIG_VALUE', () => conf('redirect_http_port = 8443')).message, /must differ from port/);
  });

  test('header_timeout longer than request_timeout is rejected; request_timeout = 0 is off', () => {
    assertPlace(failure('SKT_CONFIG_VALUE', () => server('request_timeout = 10\nheader_timeout = 20')), 3, 'header_timeout');
    assert.equal(server('request_timeout = 0\nheader_timeout = 20').headerTimeout, 20_000);
  });
});

describe('defaultConfig overrides', () => {
  test('typed overrides replace defaults', () => {
    const c = defaultConfig({ port: 0, devel: true, trustedProxies: ['127.0.0.1'] });
    assert.equal(c.server.port, 0);
    assert.equal(c.server.devel, true);
    assert.deepEqual(c.routes, []);
    assert.equal(c.file, '');
    assert.equal(c.server.name, 'skitai');
  });

  test('overrides get the range and cross-key checks', () => {
    assert.match(failure('SKT_CONFIG_VALUE', () => defaultConfig({ port: -1 })).message, /port/);
    assert.match(failure('SKT_CONFIG_VALUE', () => defaultConfig({ ssl: true })).message, /certfile/);
    failure('SKT_CONFIG_UNKNOWN_KEY', () => defaultConfig({ nope: 1 } as never));
  });

  test("freezing the config does not freeze the caller's array", () => {
    const list = ['127.0.0.1'];
    const c = defaultConfig({ trustedProxies: list });
    assert.ok(Object.isFrozen(c.server.trustedProxies));
    assert.ok(!Object.isFrozen(list));
  });
});
