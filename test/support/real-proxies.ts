/**
 * Real proxies for the proxy-pool tests (Debian's tinyproxy, squid, dante-server; .ci/run installs
 * them). Each gets its own config in a temp dir, listens on a free loopback port and sends outward
 * from 127.0.0.2, so the judge (on 127.0.0.1) can tell our address from the exit address.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const EXIT_ADDRESS = '127.0.0.2';

export interface RealProxy { kind: string; port: number; ports: number[]; stop(): Promise<void> }

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const port = (s.address() as net.AddressInfo).port; s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

export const have = (bin: string) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(path.join(d, bin)));
export const realProxiesAvailable = () => have('tinyproxy') && have('squid') && have('danted');

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`proxy did not listen on ${port}: ${log()}`);
}

async function run(kind: string, bin: string, args: (dir: string) => string[], config: (ports: number[], dir: string) => string, file: string, count = 1): Promise<RealProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), `pp-${kind}-`));
  chmodSync(dir, 0o777); // squid and tinyproxy drop to unprivileged users
  const ports: number[] = [];
  while (ports.length < count) { const p = await freePort(); if (!ports.includes(p)) ports.push(p); }
  const port = ports[0]!;
  writeFileSync(path.join(dir, file), config(ports, dir));
  let output = '';
  const child = spawn(bin, args(dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  for (const p of ports) await waitForPort(p, child, () => output).catch((e) => { child.kill('SIGKILL'); throw e; });
  return {
    kind, port, ports,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** tinyproxy: `via: true` adds its Via header (anonymous); false hides it (elite). CONNECT only to 443 unless `connectAnyPort`. */
export function startTinyproxy(opts: { via: boolean; connectAnyPort: boolean }): Promise<RealProxy> {
  return run(`tinyproxy-${opts.via ? 'via' : 'elite'}`, 'tinyproxy', (dir) => ['-d', '-c', path.join(dir, 'tinyproxy.conf')], ([port]) => [
    'User nobody', 'Group nogroup', `Port ${port}`, 'Listen 127.0.0.1', `Bind ${EXIT_ADDRESS}`, 'Timeout 30', 'MaxClients 200',
    'LogLevel Critical', 'Allow 127.0.0.0/8', opts.via ? '' : 'DisableViaHeader Yes', opts.connectAnyPort ? '' : 'ConnectPort 443', '',
  ].join('\n'), 'tinyproxy.conf');
}

/** squid with forwarded_for on: passes our address in X-Forwarded-For (transparent). CONNECT only to 443. */
export function startSquid(count = 1): Promise<RealProxy> {
  return run('squid', 'squid', (dir) => ['-N', '-f', path.join(dir, 'squid.conf')], (ports, dir) => [
    ...ports.map((port) => `http_port 127.0.0.1:${port}`), 'acl local src 127.0.0.0/8', 'acl SSL_ports port 443', 'acl CONNECT method CONNECT',
    'http_access deny CONNECT !SSL_ports', 'http_access allow local', 'http_access deny all',
    `tcp_outgoing_address ${EXIT_ADDRESS}`, 'forwarded_for on', 'via on', 'cache deny all', 'access_log none',
    `cache_log ${dir}/cache.log`, `pid_filename ${dir}/squid.pid`, `coredump_dir ${dir}`, 'shutdown_lifetime 0 seconds',
    'max_filedescriptors 4096', '',
  ].join('\n'), 'squid.conf', count);
}

/** dante speaking only SOCKS4 or only SOCKS5 (on `count` ports). */
export function startDante(version: 4 | 5, count = 1): Promise<RealProxy> {
  return run(`dante-socks${version}`, 'danted', (dir) => ['-f', path.join(dir, 'danted.conf'), '-p', path.join(dir, 'danted.pid'), '-N', count > 1 ? '2' : '1'], (ports, dir) => [
    `logoutput: ${dir}/danted.log`, ...ports.map((port) => `internal: 127.0.0.1 port = ${port}`), `external: ${EXIT_ADDRESS}`,
    'socksmethod: none', 'clientmethod: none', 'user.privileged: root', 'user.unprivileged: nobody',
    // dante wants one keyword per line inside a rule.
    'client pass {', '  from: 127.0.0.0/8 to: 0.0.0.0/0', '}',
    'socks pass {', '  from: 127.0.0.0/8 to: 0.0.0.0/0', '  protocol: tcp', `  proxyprotocol: socks_v${version}`, '}', '',
  ].join('\n'), 'danted.conf', count);
}

/** A port nothing listens on (a dead proxy). */
export const deadPort = () => freePort();

export function proxyBinariesVersion(): string {
  return ['tinyproxy -v', 'squid -v', 'danted -v'].map((c) => spawnSync('sh', ['-c', c], { encoding: 'utf8' }).stdout.split('\n')[0]).join('; ');
}
