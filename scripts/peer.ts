import { parseArgs } from 'node:util';
import { PeerAgent } from '../src/peers/agent/agent.ts';

/**
 * npm run peer -- [--key psx_…] [--api URL] [--relay URL] [--name …] [--country CC] [--state FILE]
 *                 [--wallet ADDRESS] [--type agent] [--allow-private] [--redirect-host HOST …]
 *                 [--backoff-ms 5000] [--earnings-every 60]
 */
const { values } = parseArgs({
  options: {
    key: { type: 'string' }, api: { type: 'string', default: 'http://127.0.0.1:3000' }, relay: { type: 'string' },
    name: { type: 'string', default: 'reference-agent' }, type: { type: 'string', default: 'agent' }, country: { type: 'string' },
    state: { type: 'string', default: './data/peer.json' }, wallet: { type: 'string' }, 'allow-private': { type: 'boolean', default: false },
    'redirect-host': { type: 'string', multiple: true, default: [] }, 'backoff-ms': { type: 'string', default: '5000' },
    'heartbeat-ms': { type: 'string', default: '30000' }, 'earnings-every': { type: 'string', default: '60' }, quiet: { type: 'boolean', default: false },
  },
});

const log = (msg: string, extra: Record<string, unknown> = {}) => {
  if (!values.quiet || msg === 'connected') console.log(JSON.stringify({ at: new Date().toISOString(), msg, ...extra }));
};
const agent = new PeerAgent({
  api: values.api!, apiKey: values.key, relay: values.relay, name: values.name!, type: values.type!, country: values.country?.toUpperCase(),
  walletAddress: values.wallet, stateFile: values.state!, allowPrivate: values['allow-private']!, redirectHosts: values['redirect-host']!,
  backoffBaseMs: Number(values['backoff-ms']), backoffMaxMs: 120_000, heartbeatMs: Number(values['heartbeat-ms']), redirectMinIntervalMs: 60_000, log,
});

const printEarnings = async () => {
  try {
    const e = await agent.earnings();
    if (e?.totals) log('earnings', { trafficGB: e.totals.trafficGB, earnedUSDC: e.totals.earnedUSDC, balanceUSDC: e.totals.balanceUSDC, earningsPerGB: e.earningsPerGB });
  } catch (err) {
    log('earnings unavailable', { error: String(err) });
  }
};

await agent.start();
const every = Number(values['earnings-every']) * 1000;
if (every > 0) setInterval(() => void printEarnings(), every).unref();
const keepAlive = setInterval(() => {}, 1 << 30);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void printEarnings().finally(() => agent.stop().then(() => { clearInterval(keepAlive); process.exit(0); }));
  });
}
