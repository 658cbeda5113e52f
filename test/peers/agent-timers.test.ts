import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { PeerAgent, type AgentTimers } from '../../src/peers/agent/agent.ts';
import { deadPort } from '../gateway/listeners/helpers.ts';

/** A clock and timers the test advances by hand: the agent's schedule without waiting for it. */
class FakeTimers implements AgentTimers {
  t = Date.parse('2026-12-02T19:00:00Z');
  private queue: Array<{ at: number; fn: () => void }> = [];
  now() { return this.t; }
  setTimeout(fn: () => void, ms: number) { const h = { at: this.t + ms, fn }; this.queue.push(h); return h; }
  clearTimeout(h: unknown) { this.queue = this.queue.filter((q) => q !== h); }
  /** Runs every timer due within `ms`, in order, moving the clock to each. */
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const next = this.queue.filter((q) => q.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.queue = this.queue.filter((q) => q !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('reference peer agent: token refresh and reconnect schedule (injected clock and timers)', function () {
  this.timeout(30_000);
  const agents: PeerAgent[] = [];
  afterEach(async () => { await Promise.all(agents.splice(0).map((a) => a.stop())); });

  const makeAgent = async (timers: FakeTimers, api: string, expiresInMs: number) => {
    const stateFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'agent-timers-')), 'peer.json');
    const relay = `ws://127.0.0.1:${await deadPort()}`; // nothing listens: every connect fails at once
    writeFileSync(stateFile, JSON.stringify({ deviceId: 'dev-1', jwt: 'jwt-1', jwtExpiresAt: new Date(timers.now() + expiresInMs).toISOString(), refreshToken: 'r1', relay }));
    const logs: Array<{ msg: string } & Record<string, any>> = [];
    const agent = new PeerAgent({
      api, name: 't', type: 'agent', stateFile, allowPrivate: true, redirectHosts: [], backoffBaseMs: 5000, backoffMaxMs: 120_000,
      heartbeatMs: 30_000, redirectMinIntervalMs: 60_000, log: (msg, extra = {}) => logs.push({ msg, ...extra }), timers, random: () => 0.5,
    });
    agents.push(agent);
    return { agent, logs, stateFile };
  };

  it('reconnects after 5 s × 2ⁿ capped at 120 s, never before, with ±20 % jitter', async () => {
    const timers = new FakeTimers();
    const { agent, logs } = await makeAgent(timers, 'http://127.0.0.1:9', 3600_000);
    await agent.start();
    const closes = () => logs.filter((l) => l.msg === 'relay connection closed').length;
    const delays: number[] = [];
    for (let i = 1; i <= 7; i++) {
      await until(() => logs.filter((l) => l.msg === 'reconnecting').length >= i, `reconnect ${i}`);
      const delay = logs.filter((l) => l.msg === 'reconnecting')[i - 1]!.inMs as number;
      delays.push(delay);
      timers.advance(delay - 1);
      await new Promise((r) => setTimeout(r, 50)); // a connect started early would have failed by now
      expect(closes()).to.equal(i);
      timers.advance(1);
    }
    expect(delays).to.deep.equal([5000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000]);
    const low = new PeerAgent({ ...agent.options, random: () => 0 });
    const high = new PeerAgent({ ...agent.options, random: () => 0.999999 });
    expect([low.backoffMs(1), high.backoffMs(1), low.backoffMs(9), high.backoffMs(9)]).to.deep.equal([4000, 6000, 96_000, 144_000]);
  });

  it('refreshes the JWT 10 minutes before it expires, with the rotating refresh token, and schedules the next one', async () => {
    const calls: Array<{ url: string; body: any }> = [];
    let timers!: FakeTimers;
    let n = 1;
    const api = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        calls.push({ url: req.url ?? '', body: JSON.parse(body || '{}') });
        n++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ deviceId: 'dev-1', jwt: `jwt-${n}`, expiresAt: new Date(timers.now() + 3600_000).toISOString(), refreshToken: `r${n}` }));
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    try {
      timers = new FakeTimers();
      const { agent, logs, stateFile } = await makeAgent(timers, `http://127.0.0.1:${(api.address() as AddressInfo).port}`, 3600_000);
      await agent.start();
      expect(logs.find((l) => l.msg === 'token refresh scheduled')?.inMs).to.equal(50 * 60_000);
      timers.advance(50 * 60_000 - 1000);
      await new Promise((r) => setTimeout(r, 100));
      expect(calls).to.have.length(0);
      timers.advance(1000);
      await until(() => logs.some((l) => l.msg === 'token refreshed'), 'the refresh');
      expect(calls).to.deep.equal([{ url: '/v1/peer/agents/dev-1/refresh', body: { refreshToken: 'r1' } }]);
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).to.include({ jwt: 'jwt-2', refreshToken: 'r2' });
      expect(logs.filter((l) => l.msg === 'token refresh scheduled').map((l) => l.inMs)).to.deep.equal([50 * 60_000, 50 * 60_000]);
      timers.advance(50 * 60_000);
      await until(() => calls.length === 2, 'the second refresh');
      expect(calls[1]!.body).to.deep.equal({ refreshToken: 'r2' });
    } finally {
      await new Promise((r) => api.close(r));
    }
  });
});
