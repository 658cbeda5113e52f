// Starts a local anvil node as a child process for tests and the devnet script.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createPublicClient, createWalletClient, defineChain, getAddress, http, type Address, type Chain, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export interface AnvilAccount {
  address: Address;
  privateKey: Hex;
}

export interface AnvilHandle {
  rpcUrl: string;
  chainId: number;
  port: number;
  /** viem chain definition pointing at this node. */
  chain: Chain;
  /** anvil's pre-funded dev accounts (10 000 ETH each), in anvil's order. */
  accounts: AnvilAccount[];
  /** Resolves with the exit code once the node process has ended, for whatever reason. */
  exited: Promise<number | null>;
  /** Terminates the node; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  /** Defaults to a free ephemeral port. */
  port?: number;
  /** Defaults to 31337 (anvil's default). */
  chainId?: number;
  host?: string;
  /** Milliseconds to wait for the RPC to answer. */
  readyTimeoutMs?: number;
  /** Extra CLI flags, e.g. ['--no-mining']. */
  extraArgs?: string[];
}

// @foundry-rs/anvil ships the binary in a per-platform optional package; ANVIL_BIN overrides.
function anvilBinary(): string {
  const fromEnv = process.env['ANVIL_BIN'];
  if (fromEnv) return fromEnv;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    const pkgJson = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return join(dirname(pkgJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  } catch {
    throw new Error(`anvil binary package ${pkg} is not installed (or set ANVIL_BIN)`);
  }
}
const STDERR_KEEP = 4096;

// Children still running; killed synchronously if the parent exits without stopping them.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

/** Public + wallet clients for a local node; fast polling since blocks are instant. */
export function devClients(node: { chain: Chain; rpcUrl: string }, privateKey: Hex) {
  const transport = http(node.rpcUrl);
  return {
    publicClient: createPublicClient({ chain: node.chain, transport, pollingInterval: 50 }),
    wallet: createWalletClient({ chain: node.chain, transport, account: privateKeyToAccount(privateKey) }),
  };
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilHandle> {
  // An ephemeral port can be taken between probing and anvil binding it; retry only then.
  const attempts = opts.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(opts, opts.port ?? (await freePort(opts.host)));
    } catch (err) {
      lastError = err;
      if (!(err instanceof AnvilExitedError) || !/address already in use/i.test(err.stderr)) throw err;
    }
  }
  throw lastError;
}

class AnvilExitedError extends Error {
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`anvil exited early (code ${code}): ${stderr.trim() || '<no stderr>'}`);
  }
}

async function startOnce(opts: StartAnvilOptions, port: number): Promise<AnvilHandle> {
  const host = opts.host ?? '127.0.0.1';
  const chainId = opts.chainId ?? 31337;
  const workDir = await mkdtemp(join(tmpdir(), 'anvil-'));
  const configOut = join(workDir, 'config.json');
  const args = [
    '--host', host,
    '--port', String(port),
    '--chain-id', String(chainId),
    '--config-out', configOut,
    '--silent',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child);

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  // 'close' (not 'exit') so stderr is fully drained before we report it.
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      live.delete(child);
      resolve(code);
    });
    child.once('error', (err) => {
      stderr += err.message; // spawn failure, e.g. missing binary
      resolve(null);
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;

  const stop = async (): Promise<void> => {
    if (alive()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(child);
    await rm(workDir, { recursive: true, force: true });
  };

  const rpcUrl = `http://${host}:${port}`;
  try {
    const gone = exited.then((code) => new AnvilExitedError(code, stderr));
    const failure = await Promise.race([
      waitForReady(rpcUrl, configOut, opts.readyTimeoutMs ?? 15_000, () => !alive()),
      gone,
    ]);
    if (failure) throw failure;
    const accounts = await readAccounts(configOut);
    const chain = defineChain({
      id: chainId,
      name: `anvil-${chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    return { rpcUrl, chainId, port, chain, accounts, exited, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// anvil writes --config-out only after binding its port, so waiting for the file first
// guarantees the RPC that answers is our child and not another node on the same port.
async function waitForReady(
  rpcUrl: string,
  configOut: string,
  timeoutMs: number,
  childGone: () => boolean,
): Promise<undefined> {
  const deadline = Date.now() + timeoutMs;
  // On child exit we idle until the caller's race picks up the exit error.
  while (!childGone()) {
    try {
      await access(configOut);
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      const body = (await res.json()) as { result?: string };
      if (body.result !== undefined) return undefined;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`anvil RPC at ${rpcUrl} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return new Promise<undefined>(() => {});
}

// Reading the dev keys from --config-out keeps us in sync with whatever mnemonic or
// account count anvil was given.
async function readAccounts(configOut: string): Promise<AnvilAccount[]> {
  const cfg = JSON.parse(await readFile(configOut, 'utf8')) as {
    available_accounts?: string[];
    private_keys?: string[];
  };
  const addrs = cfg.available_accounts ?? [];
  const keys = cfg.private_keys ?? [];
  if (addrs.length === 0 || addrs.length !== keys.length) {
    throw new Error(`unexpected anvil config-out at ${configOut}`);
  }
  return addrs.map((a, i) => ({ address: getAddress(a), privateKey: keys[i] as Hex }));
}
