/**
 * The proxies people would use instead, started by bench:gateway itself on free loopback ports:
 * Debian's squid (HTTP CONNECT) and dante-server (SOCKS5). Each is null, with the reason, when the
 * binary is absent (`apt-get install -y squid dante-server`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Anchor {
  name: string;
  port: number;
  /** The proxy's main process (dante forks its workers under it). */
  pid: number;
  stop(): Promise<void>;
}

const which = (bin: string): string | null => {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const p = path.join(dir, bin);
    if (spawnSync('test', ['-x', p]).status === 0) return p;
  }
  return null;
};

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function listening(port: number, child: ChildProcess, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${log().slice(-500)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}: ${log().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

export async function startSquid(): Promise<Anchor | { skipped: string }> {
  const bin = which('squid');
  if (!bin) return { skipped: 'squid is not installed (apt-get install -y squid)' };
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-squid-'));
  chmodSync(dir, 0o777); // squid drops to its own user
  const port = await freePort();
  const conf = path.join(dir, 'squid.conf');
  writeFileSync(conf, [
    `http_port 127.0.0.1:${port}`,
    'acl loopback src 127.0.0.0/8',
    'http_access allow loopback',
    'http_access deny all',
    'cache deny all',
    'cache_mem 8 MB',
    'access_log none',
    `cache_log ${dir}/cache.log`,
    `pid_filename ${dir}/squid.pid`,
    `coredump_dir ${dir}`,
    'shutdown_lifetime 0 seconds',
    'dns_v4_first on',
    '',
  ].join('\n'));
  const child = spawn(bin, ['-N', '-f', conf], { stdio: 'ignore' });
  const log = () => { try { return readFileSync(`${dir}/cache.log`, 'utf8'); } catch { return ''; } };
  await listening(port, child, 'squid', log);
  return { name: `squid ${squidVersion(bin)}`, port, pid: child.pid!, stop: stopper(child, dir) };
}

function squidVersion(bin: string): string {
  return /Version (\S+)/.exec(spawnSync(bin, ['-v']).stdout?.toString() ?? '')?.[1] ?? '';
}

export async function startDante(): Promise<Anchor | { skipped: string }> {
  const bin = which('danted') ?? which('sockd');
  if (!bin) return { skipped: 'dante-server is not installed (apt-get install -y dante-server)' };
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-dante-'));
  const port = await freePort();
  const conf = path.join(dir, 'danted.conf');
  writeFileSync(conf, [
    `logoutput: ${dir}/danted.log`,
    `internal: 127.0.0.1 port = ${port}`,
    'external: 127.0.0.1',
    'socksmethod: none',
    'clientmethod: none',
    'user.privileged: root',
    'user.unprivileged: nobody',
    'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
    'socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }',
    '',
  ].join('\n'));
  const child = spawn(bin, ['-f', conf, '-p', `${dir}/danted.pid`], { stdio: 'ignore' });
  const log = () => { try { return readFileSync(`${dir}/danted.log`, 'utf8'); } catch { return ''; } };
  await listening(port, child, 'dante', log);
  return { name: 'dante', port, pid: child.pid!, stop: stopper(child, dir) };
}
