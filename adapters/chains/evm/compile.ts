// Compiles contracts/MockUSDC.sol with solc-js and caches the artifact on disk, keyed by a
// hash of everything that affects the output, so test runs and devnet restarts skip solc.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Hex } from 'viem';

export interface ContractArtifact {
  contractName: string;
  abi: Abi;
  /** Creation bytecode, 0x-prefixed. */
  bytecode: Hex;
  /** sha256 over source, compiler version and settings; the cache key. */
  sourceHash: string;
  /** True when read from the cache instead of compiled now. */
  cached: boolean;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const MOCK_USDC_SOURCE = join(repoRoot, 'contracts', 'MockUSDC.sol');
export const DEFAULT_ARTIFACT_DIR = join(repoRoot, 'data', 'contracts');

// Cancun keeps the bytecode deployable on Base and on any anvil hardfork we'd pick.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
} as const;

// solc's package.json version is enough for the cache key and avoids loading the 8 MB
// emscripten module on a cache hit.
const require = createRequire(import.meta.url);
const SOLC_VERSION: string = (require('solc/package.json') as { version: string }).version;

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

export async function compileMockUsdc(opts: { cacheDir?: string } = {}): Promise<ContractArtifact> {
  return compileContract({ sourcePath: MOCK_USDC_SOURCE, contractName: 'MockUSDC', cacheDir: opts.cacheDir });
}

export async function compileContract(opts: {
  sourcePath: string;
  contractName: string;
  cacheDir?: string | undefined;
}): Promise<ContractArtifact> {
  const { sourcePath, contractName } = opts;
  const cacheDir = opts.cacheDir ?? DEFAULT_ARTIFACT_DIR;
  const source = await readFile(sourcePath, 'utf8');
  const sourceHash = createHash('sha256')
    .update(JSON.stringify({ source, contractName, solc: SOLC_VERSION, settings: SETTINGS }))
    .digest('hex');
  const cacheFile = join(cacheDir, `${contractName}-${sourceHash.slice(0, 16)}.json`);

  const hit = await readCache(cacheFile, sourceHash);
  if (hit) return { contractName, ...hit, sourceHash, cached: true };

  const fileKey = `${contractName}.sol`;
  const input = { language: 'Solidity', sources: { [fileKey]: { content: source } }, settings: SETTINGS };
  const solc = require('solc') as { compile(input: string): string };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`solc failed for ${sourcePath}:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  }
  const compiled = output.contracts?.[fileKey]?.[contractName];
  if (!compiled || compiled.evm.bytecode.object.length === 0) {
    throw new Error(`solc produced no bytecode for ${contractName} in ${sourcePath}`);
  }
  const artifact = { abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}` as Hex };

  await mkdir(cacheDir, { recursive: true });
  // Write-then-rename so a concurrent test process never reads a half-written file.
  const tmp = `${cacheFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify({ sourceHash, solc: SOLC_VERSION, ...artifact }));
  await rename(tmp, cacheFile);
  return { contractName, ...artifact, sourceHash, cached: false };
}

async function readCache(file: string, sourceHash: string): Promise<{ abi: Abi; bytecode: Hex } | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(raw) as { sourceHash?: unknown; abi?: unknown; bytecode?: unknown };
    const valid =
      parsed.sourceHash === sourceHash &&
      Array.isArray(parsed.abi) &&
      typeof parsed.bytecode === 'string' &&
      /^0x[0-9a-f]+$/i.test(parsed.bytecode);
    return valid ? { abi: parsed.abi as Abi, bytecode: parsed.bytecode as Hex } : undefined;
  } catch {
    return undefined; // corrupt cache entry: recompile and overwrite
  }
}
