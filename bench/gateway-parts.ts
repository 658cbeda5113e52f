/**
 * The processes of bench:gateway: `origin` (origin web server) and `gateway` (the gateway's
 * listeners with the in-memory test brain, and the real in-flight byte budget of #8 in the path:
 * every chunk is paid for from an AccountBudget leasing slices from the in-process ledger). Each
 * prints one JSON line with its ports and runs until killed, so the client, the gateway and the
 * origin each get their own event loop.
 */
import { startGateway } from '../adapters/gateway/server.ts';
import { AccountBudget, MemoryBudgetLedger, sliceFor } from '../src/gateway/budget.ts';
import { PASSWORD, startOrigin, TestBrain, USER, type TestLease } from '../test/gateway/listeners/helpers.ts';

const part = process.argv[2];
// a clean exit on SIGINT, so --cpu-prof writes its profile
process.on('SIGINT', () => process.exit(0));
if (part === 'origin') {
  const origin = await startOrigin();
  console.log(JSON.stringify({ origin: origin.port }));
} else if (part === 'gateway') {
  const brain = new TestBrain(new Map([[USER.direct, { password: PASSWORD, upstreams: [{ deviceId: 'direct', url: null }] }]]));
  // a balance far larger than the bench moves, so the budget is spent (and re-leased) but never runs out
  const balance = { totalBytes: 10n ** 15n, usedBytes: 0n };
  const budget = new AccountBudget('session-bench', new MemoryBudgetLedger(), () => balance, {
    sliceBytes: sliceFor(balance.totalBytes), idleReturnMs: 30_000, now: Date.now, onError: (e) => console.error(e),
  });
  const authenticate = brain.authenticate.bind(brain);
  brain.authenticate = async (request) => {
    const result = await authenticate(request);
    if (!result.ok) return result;
    const lease = result.lease as TestLease;
    budget.open();
    if (!(await budget.refill())) throw new Error('bench budget ran out');
    lease.budget = budget;
    const end = lease.end.bind(lease);
    lease.end = () => { end(); void budget.close(); };
    return result;
  };
  // the test brain records every meter call; keep that from growing without bound during the bench
  setInterval(() => { for (const lease of brain.leases) lease.meters.length = 0; brain.leases.length = 0; brain.requests.length = 0; }, 1000).unref();
  const gateway = await startGateway({ brain, host: '127.0.0.1', httpPort: 0, socksPort: 0, healthPort: 0, allowedPrivateCidrs: '127.0.0.0/8' });
  console.log(JSON.stringify({ http: gateway.httpPort, socks: gateway.socksPort }));
} else {
  console.error('usage: gateway-parts.ts origin|gateway');
  process.exit(2);
}
