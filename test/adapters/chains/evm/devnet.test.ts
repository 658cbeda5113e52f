import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, getAddress, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { freePort, startAnvil } from '../../../../adapters/chains/evm/anvil.ts';
import { compileMockUsdc } from '../../../../adapters/chains/evm/compile.ts';
import { usdcBalance } from '../../../../adapters/chains/evm/deploy.ts';
import { verifyUsdcTransfer } from '../../../../adapters/chains/evm/usdc-transfer.ts';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  try {
    await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    return true;
  } catch {
    return false;
  }
}

describe('adapters/chains/evm anvil + compile', function () {
  this.timeout(30_000);

  it('starts anvil on a free port with the requested chain id and its real dev keys, and stops it', async () => {
    const anvil = await startAnvil({ chainId: 84532 });
    try {
      const client = createPublicClient({ chain: anvil.chain, transport: http(anvil.rpcUrl) });
      expect(await client.getChainId()).to.equal(84532);
      const rpcAccounts = await createWalletClient({ transport: http(anvil.rpcUrl) }).getAddresses();
      expect(anvil.accounts.map((a) => a.address)).to.deep.equal(rpcAccounts.map((a) => getAddress(a)));
      // The keys really belong to the funded accounts.
      for (const a of anvil.accounts) expect(privateKeyToAccount(a.privateKey).address).to.equal(a.address);
      expect((await client.getBalance({ address: anvil.accounts[0]!.address })) > 0n).to.equal(true);
    } finally {
      await anvil.stop();
    }
    await anvil.exited;
    expect(await rpcAnswers(anvil.rpcUrl)).to.equal(false);
    await anvil.stop(); // idempotent
  });

  it('fails with anvil\'s own error when an explicit port is taken', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      let err: unknown;
      try {
        const anvil = await startAnvil({ port });
        await anvil.stop();
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/already in use/i);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('compiles MockUSDC once and then serves the artifact from the cache', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'usdc-artifact-'));
    try {
      const first = await compileMockUsdc({ cacheDir });
      expect(first.cached).to.equal(false);
      expect(first.bytecode).to.match(/^0x[0-9a-f]{100,}$/);
      const fns = first.abi.filter((x) => x.type === 'function').map((x) => ('name' in x ? x.name : ''));
      expect(fns).to.include.members([
        'transferWithAuthorization',
        'receiveWithAuthorization',
        'cancelAuthorization',
        'authorizationState',
        'DOMAIN_SEPARATOR',
        'version',
        'mint',
      ]);
      const files = await readdir(cacheDir);
      expect(files).to.have.length(1);

      const second = await compileMockUsdc({ cacheDir });
      expect(second).to.deep.equal({ ...first, cached: true });

      // A damaged cache entry is recompiled, not trusted.
      await writeFile(join(cacheDir, files[0]!), '{"sourceHash":"nope"');
      expect((await compileMockUsdc({ cacheDir })).cached).to.equal(false);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('scripts/devnet.ts + scripts/pay-usdc.ts', function () {
  this.timeout(30_000);

  let devnet: ChildProcess | undefined;
  let workDir: string;
  let devnetFile: string;
  let port: number;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'devnet-'));
    devnetFile = join(workDir, 'devnet.json');
    port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/devnet.ts'], {
      cwd: repoRoot,
      env: { ...process.env, DEVNET_PORT: String(port), DEVNET_FILE: devnetFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    devnet = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`devnet not ready:\n${out}`)), 20_000);
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('devnet ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`devnet exited with ${code}:\n${out}`));
      });
    });
  });

  after(async () => {
    if (devnet && devnet.exitCode === null && devnet.signalCode === null) {
      const gone = new Promise((r) => devnet?.once('exit', r));
      devnet.kill('SIGTERM');
      await gone;
    }
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes the devnet file and the service env, then pay-usdc prints a verifiable tx hash', async () => {
    const info = JSON.parse(await readFile(devnetFile, 'utf8')) as {
      rpcUrl: string;
      chainId: number;
      usdc: Address;
      recipient: Address;
      buyer: { address: Address; privateKey: Hex };
      settler: { privateKey: Hex };
      env: Record<string, string>;
    };
    expect(info.rpcUrl).to.equal(`http://127.0.0.1:${port}`);
    expect(info.env).to.deep.equal({
      BASE_RPC_URL: info.rpcUrl,
      BASE_CHAIN_ID: String(info.chainId),
      BASE_USDC_ADDRESS: info.usdc,
      BASE_RECIPIENT: info.recipient,
      X402_SETTLER_PRIVATE_KEY: info.settler.privateKey,
      BASE_MIN_CONFIRMATIONS: '1',
    });
    const client = createPublicClient({ transport: http(info.rpcUrl) });
    expect(await usdcBalance(client, info.usdc, info.buyer.address)).to.equal(1_000_000_000n);

    const { code, stdout, stderr } = await payUsdc(devnetFile, '2.5');
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^0x[0-9a-f]{64}\n$/);

    const res = await verifyUsdcTransfer({
      client,
      txHash: stdout.trim(),
      usdc: info.usdc,
      recipient: info.recipient,
      expectedAmount: 2_500_000n,
      tolerancePpm: 0,
    });
    expect(res).to.deep.include({ ok: true, from: info.buyer.address, amount: 2_500_000n });
  });

  it('a restarted devnet pays with new tx hashes (the service keeps used proofs across devnet runs)', async () => {
    // Two runs are two chains with the same keys, contract address and amounts: the buyer's first transfer would
    // be byte for byte the same transaction, and a service that kept its data dir answers 409 PAYMENT_ALREADY_USED.
    const first = await runDevnet();
    const second = await runDevnet();
    expect(first).to.match(/^0x[0-9a-f]{64}$/);
    expect(second).to.match(/^0x[0-9a-f]{64}$/);
    expect(second).to.not.equal(first);
  });

  it('stops anvil and removes the devnet file on SIGTERM', async () => {
    const info = JSON.parse(await readFile(devnetFile, 'utf8')) as { rpcUrl: string };
    const exit = new Promise<number | null>((r) => devnet?.once('exit', r));
    devnet?.kill('SIGTERM');
    expect(await exit).to.equal(0);
    expect(await rpcAnswers(info.rpcUrl)).to.equal(false);
    let exists = true;
    await access(devnetFile).catch(() => (exists = false));
    expect(exists).to.equal(false);
  });
});

/** Starts scripts/devnet.ts on a free port, pays 1 USDC with scripts/pay-usdc.ts, stops it; the tx hash. */
/** scripts/pay-usdc.ts against a devnet file: its exit code and output. */
async function payUsdc(devnetFile: string, amount: string): Promise<{ code: unknown; stdout: string; stderr: string }> {
  const pay = spawn(process.execPath, ['--import', 'tsx', 'scripts/pay-usdc.ts', amount], {
    cwd: repoRoot,
    env: { ...process.env, DEVNET_FILE: devnetFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  pay.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  pay.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise((r) => pay.once('close', r));
  return { code, stdout, stderr };
}

async function runDevnet(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devnet-run-'));
  const file = join(dir, 'devnet.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/devnet.ts'], {
    cwd: repoRoot,
    env: { ...process.env, DEVNET_PORT: String(await freePort()), DEVNET_FILE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`devnet not ready:\n${out}`)), 20_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('devnet ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`devnet exited with ${code}:\n${out}`));
      });
    });
    const { code, stdout, stderr } = await payUsdc(file, '1');
    expect(code, stderr).to.equal(0);
    return stdout.trim();
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  }
}
