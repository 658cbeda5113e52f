/**
 * The processes of bench:gateway: `origin` (origin web server + the two modem proxies) and `gateway`
 * (the gateway's listeners with the in-memory test brain). Each prints one JSON line with its ports
 * and runs until killed, so the client, the gateway and the origin each get their own event loop.
 */
import { startGateway } from '../adapters/gateway/server.ts';
import { PASSWORD, startHttpModem, startOrigin, startSocksModem, TestBrain, USER } from '../test/gateway/listeners/helpers.ts';

const part = process.argv[2];
if (part === 'origin') {
  const [origin, httpModem, socksModem] = await Promise.all([startOrigin(), startHttpModem(), startSocksModem()]);
  console.log(JSON.stringify({ origin: origin.port, httpModem: httpModem.url, socksModem: socksModem.url }));
} else if (part === 'gateway') {
  const brain = new TestBrain(new Map([
    [USER.direct, { password: PASSWORD, upstreams: [{ deviceId: 'direct', url: null }] }],
    [USER.http, { password: PASSWORD, upstreams: [{ deviceId: 'http-modem', url: process.env.HTTP_MODEM! }] }],
    [USER.socks5, { password: PASSWORD, upstreams: [{ deviceId: 'socks-modem', url: process.env.SOCKS_MODEM! }] }],
  ]));
  // the test brain records every meter call; keep that from growing without bound during the bench
  setInterval(() => { for (const lease of brain.leases) lease.meters.length = 0; brain.leases.length = 0; brain.requests.length = 0; }, 1000).unref();
  const gateway = await startGateway({ brain, host: '127.0.0.1', httpPort: 0, socksPort: 0, healthPort: 0, allowedPrivateCidrs: '127.0.0.0/8' });
  console.log(JSON.stringify({ http: gateway.httpPort, socks: gateway.socksPort }));
} else {
  console.error('usage: gateway-parts.ts origin|gateway');
  process.exit(2);
}
