import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { fixedClock } from '../../src/clock.ts';
import { matches } from '../../adapters/proxy-pool/notifiers/notifier.ts';
import { smtpNotifier } from '../../adapters/proxy-pool/notifiers/smtp.ts';
import { webhookNotifier } from '../../adapters/proxy-pool/notifiers/webhook.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin } from '../support/x402.ts';
import { startListServer } from '../support/list-server.ts';
import { deadPort } from '../support/real-proxies.ts';

const SECRET = 'webhook-secret-0123456789';

/** A webhook receiver that answers `fail` times with 500 before it accepts. */
async function receiver(fail = 0) {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string; status: number }> = [];
  let failures = fail;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const status = failures-- > 0 ? 500 : 200;
      got.push({ headers: req.headers, body, status });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, setFail: (n: number) => { failures = n; }, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

async function mailbox() {
  const mails: Array<{ from: string; to: string[]; data: string }> = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, done) {
      let data = '';
      stream.on('data', (c: Buffer) => { data += c.toString(); });
      stream.on('end', () => { mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data }); done(); });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, mails, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

const waitFor = async (pred: () => boolean, ms = 15_000) => {
  const until = Date.now() + ms;
  while (!pred()) { if (Date.now() > until) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 50)); }
};

describe('proxy pool notifiers: webhook (HMAC, retries) and smtp (nodemailer → local smtp-server)', function () {
  this.timeout(60_000);

  it('matches event patterns', () => {
    expect(matches(['*'], 'credits.granted')).to.equal(true);
    expect(matches(['credits.*'], 'credits.granted')).to.equal(true);
    expect(matches(['credits.*'], 'proxy.pool_low')).to.equal(false);
    expect(matches(['proxy.pool_low'], 'proxy.pool_low')).to.equal(true);
    expect(matches(['proxy.pool_low'], 'proxy.pool_lowest')).to.equal(false);
  });

  it('webhook: signs the exact body with HMAC-SHA256, retries failures with back-off, reports health', async () => {
    const hook = await receiver(2);
    try {
      const n = webhookNotifier({ url: hook.url, secret: SECRET, subscribesTo: ['*'], attempts: 4, backoffMs: 50 });
      await n.send({ event: 'credits.granted', occurred_at: '2026-11-20T12:00:00.000Z', data: { credits: 3 } });
      expect(hook.got.map((g) => g.status)).to.deep.equal([500, 500, 200]);
      const [a, , c] = hook.got;
      expect(c!.headers['x-pool-delivery']).to.equal(a!.headers['x-pool-delivery']);
      expect(c!.headers['x-pool-event']).to.equal('credits.granted');
      expect(c!.headers['x-pool-signature']).to.equal(`sha256=${createHmac('sha256', SECRET).update(c!.body).digest('hex')}`);
      expect(JSON.parse(c!.body)).to.deep.equal({ event: 'credits.granted', occurred_at: '2026-11-20T12:00:00.000Z', data: { credits: 3 } });
      expect(n.healthy).to.equal(true);
      hook.setFail(100);
      let error: unknown;
      await n.send({ event: 'x', occurred_at: 'now', data: {} }).catch((e) => { error = e; });
      expect(String(error)).to.match(/failed after 4 attempts: status 500/);
      expect(n.healthy).to.equal(false);
    } finally {
      await hook.stop();
    }
  });

  it('smtp: sends a mail through nodemailer', async () => {
    const box = await mailbox();
    const n = smtpNotifier({ url: box.url, from: 'pool@example.com', to: 'ops@example.com', subscribesTo: ['*'] });
    try {
      await n.send({ event: 'proxy.pool_low', occurred_at: '2026-11-20T12:00:00.000Z', data: { active: 0, threshold: 10 } });
      expect(box.mails).to.have.length(1);
      expect(box.mails[0]!.to).to.deep.equal(['ops@example.com']);
      expect(box.mails[0]!.data).to.include('Subject: [proxy-pool] proxy.pool_low').and.include('"threshold": 10');
      expect(n.healthy).to.equal(true);
    } finally {
      n.close();
      await box.stop();
    }
  });

  it('the service notifies credits.* and proxy.pool_low to the subscribed notifiers; /stats/plugins lists them', async () => {
    const hook = await receiver(0);
    const box = await mailbox();
    const dead = await deadPort();
    const lists = await startListServer({ '/dead.txt': { type: 'text/plain', body: `127.0.0.1:${dead}\n` } });
    const service = await startTestService((await databaseKinds())[0]!, fixedClock('2026-11-20T12:00:00.000Z'), {
      POOL_ALLOWED_PRIVATE_CIDRS: '127.0.0.0/8', POOL_CHECK_INTERVAL_MS: '100', POOL_LOW_THRESHOLD: '1',
      POOL_WEBHOOK_URL: hook.url, POOL_WEBHOOK_SECRET: SECRET, POOL_WEBHOOK_EVENTS: '*',
      POOL_SMTP_URL: box.url, POOL_SMTP_TO: 'ops@example.com', POOL_SMTP_EVENTS: 'proxy.pool_low',
    });
    try {
      const reg = await api(service.url, 'POST', '/auth/register', { email: 'n@example.com', display_name: 'N' });
      const bearer = { authorization: `Bearer ${reg.body.api_key.key}` };
      await api(service.url, 'POST', `/v1/admin/pool/users/${reg.body.user.id}/credits`, { credits: 2, description: 'welcome' }, admin);
      await waitFor(() => hook.got.length >= 1);
      expect(JSON.parse(hook.got[0]!.body)).to.deep.include({ event: 'credits.granted' });
      expect(JSON.parse(hook.got[0]!.body).data).to.deep.include({ userId: reg.body.user.id, credits: 2, description: 'welcome' });
      expect(box.mails).to.have.length(0); // smtp is subscribed to proxy.pool_low only

      const src = await api(service.url, 'POST', '/sources', { url: `${lists.base}/dead.txt`, parser_name: 'plaintext' }, bearer);
      await api(service.url, 'POST', `/sources/${src.body.id}/scrape`, {}, bearer);
      await waitFor(() => box.mails.length >= 1);
      expect(box.mails[0]!.data).to.include('proxy.pool_low');
      await waitFor(() => hook.got.some((g) => JSON.parse(g.body).event === 'proxy.pool_low'));
      const plugins = await api(service.url, 'GET', '/stats/plugins', undefined, bearer);
      expect(plugins.body.notifiers).to.deep.equal([
        { name: 'webhook', healthy: true, subscribes_to: ['*'] },
        { name: 'smtp', healthy: true, subscribes_to: ['proxy.pool_low'] },
      ]);
    } finally {
      await service.stop();
      await lists.stop();
      await hook.stop();
      await box.stop();
    }
  });
});
