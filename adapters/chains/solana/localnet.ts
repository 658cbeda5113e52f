// A local Solana "validator" for tests: LiteSVM executes real programs (System, SPL Token,
// ATA, Memo, ComputeBudget); this module exposes it over HTTP JSON-RPC + WebSocket on
// 127.0.0.1 so unmodified clients (@solana/web3.js v1 Connection, @solana/kit RPC) work.
//
// LiteSVM keeps only minimal tx metadata, so every landed transaction is recorded here with
// its wire bytes, slot, blockTime, fee, lamport balances and decoded SPL token balances
// captured before and after execution (what a real RPC serves as meta.pre/postTokenBalances).
// Every landed transaction gets its own slot and is immediately "finalized".
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Clock, FailedTransactionMetadata, LiteSVM, type TransactionMetadata } from 'litesvm';
import {
  InstructionErrorBorshIo,
  InstructionErrorCustom,
  TransactionErrorDuplicateInstruction,
  TransactionErrorInstructionError,
  TransactionErrorInsufficientFundsForRent,
  TransactionErrorProgramExecutionTemporarilyRestricted,
} from 'litesvm/dist/internal.js';
import {
  Connection,
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
  VersionedMessage,
  VersionedTransaction,
  type Commitment,
} from '@solana/web3.js';
import {
  MINT_SIZE,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToCheckedInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { SOLANA_ERROR__TRANSACTION__SIGNATURES_MISSING, getBase58Decoder, getBase58Encoder, getTransactionDecoder, isSolanaError } from '@solana/kit';

/** Devnet's genesis hash. The official @x402/svm client only accepts mainnet/devnet/testnet
 * CAIP-2 ids, so by default the localnet reports devnet's identity (clients get our rpcUrl). */
export const DEVNET_GENESIS_HASH = 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG';
export const USDC_DECIMALS = 6;
export const LAMPORTS_PER_SIGNATURE = 5000n;
const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const COMPUTE_BUDGET_PROGRAM_ID = 'ComputeBudget111111111111111111111111111111';
const SYSTEM_PROGRAM_ID = SystemProgram.programId.toBase58();
const BLOCKHASH_LIFETIME_BLOCKS = 150;
const MAX_BODY_BYTES = 2 * 1024 * 1024;
// Within what LiteSVM's built-in airdrop account holds.
const FAUCET_LAMPORTS = 100_000n * 1_000_000_000n;

// LiteSVM's d.ts pulls its own @solana/kit; we pass plain strings/objects of the same shape.
type SvmAddress = Parameters<LiteSVM['getAccount']>[0];
type SvmTransaction = Parameters<LiteSVM['sendTransaction']>[0];
const svmAddress = (a: string): SvmAddress => a as SvmAddress;

const b58 = { encode: (b: Uint8Array) => getBase58Decoder().decode(b), decode: (s: string) => getBase58Encoder().encode(s) };
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

// ---------------------------------------------------------------- transaction errors (RPC JSON)

// Names in LiteSVM's fieldless enums, by numeric value (see litesvm/dist/internal.d.ts).
const TX_ERROR_NAMES = 'AccountInUse AccountLoadedTwice AccountNotFound ProgramAccountNotFound InsufficientFundsForFee InvalidAccountForFee AlreadyProcessed BlockhashNotFound CallChainTooDeep MissingSignatureForFee InvalidAccountIndex SignatureFailure InvalidProgramForExecution SanitizeFailure ClusterMaintenance AccountBorrowOutstanding WouldExceedMaxBlockCostLimit UnsupportedVersion InvalidWritableAccount WouldExceedMaxAccountCostLimit WouldExceedAccountDataBlockLimit TooManyAccountLocks AddressLookupTableNotFound InvalidAddressLookupTableOwner InvalidAddressLookupTableData InvalidAddressLookupTableIndex InvalidRentPayingAccount WouldExceedMaxVoteCostLimit WouldExceedAccountDataTotalLimit MaxLoadedAccountsDataSizeExceeded ResanitizationNeeded InvalidLoadedAccountsDataSizeLimit UnbalancedTransaction ProgramCacheHitMaxLimit CommitCancelled'.split(' ');
const IX_ERROR_NAMES = 'GenericError InvalidArgument InvalidInstructionData InvalidAccountData AccountDataTooSmall InsufficientFunds IncorrectProgramId MissingRequiredSignature AccountAlreadyInitialized UninitializedAccount UnbalancedInstruction ModifiedProgramId ExternalAccountLamportSpend ExternalAccountDataModified ReadonlyLamportChange ReadonlyDataModified DuplicateAccountIndex ExecutableModified RentEpochModified NotEnoughAccountKeys AccountDataSizeChanged AccountNotExecutable AccountBorrowFailed AccountBorrowOutstanding DuplicateAccountOutOfSync InvalidError ExecutableDataModified ExecutableLamportChange ExecutableAccountNotRentExempt UnsupportedProgramId CallDepth MissingAccount ReentrancyNotAllowed MaxSeedLengthExceeded InvalidSeeds InvalidRealloc ComputationalBudgetExceeded PrivilegeEscalation ProgramEnvironmentSetupFailure ProgramFailedToComplete ProgramFailedToCompile Immutable IncorrectAuthority AccountNotRentExempt InvalidAccountOwner ArithmeticOverflow UnsupportedSysvar IllegalOwner MaxAccountsDataAllocationsExceeded MaxAccountsExceeded MaxInstructionTraceLengthExceeded BuiltinProgramsMustConsumeComputeUnits BorshIoError'.split(' ');

/** TransactionError in the JSON shape Agave's RPC uses, e.g. {"InstructionError":[0,{"Custom":1}]}. */
export type TxErrorJson = string | { [variant: string]: unknown };

function txErrorToJson(err: ReturnType<FailedTransactionMetadata['err']>): TxErrorJson {
  if (typeof err === 'number') return TX_ERROR_NAMES[err] ?? `UnknownTransactionError${err}`;
  if (err instanceof TransactionErrorInstructionError) {
    const inner = err.err();
    const ixErr =
      typeof inner === 'number' ? (IX_ERROR_NAMES[inner] ?? `UnknownInstructionError${inner}`)
      : inner instanceof InstructionErrorCustom ? { Custom: inner.code }
      : inner instanceof InstructionErrorBorshIo ? { BorshIoError: inner.msg }
      : String(inner);
    return { InstructionError: [err.index, ixErr] };
  }
  if (err instanceof TransactionErrorDuplicateInstruction) return { DuplicateInstruction: err.index };
  if (err instanceof TransactionErrorInsufficientFundsForRent) return { InsufficientFundsForRent: { account_index: err.accountIndex } };
  if (err instanceof TransactionErrorProgramExecutionTemporarilyRestricted) {
    return { ProgramExecutionTemporarilyRestricted: { account_index: err.accountIndex } };
  }
  return String(err);
}

function describeTxError(err: TxErrorJson): string {
  if (err === 'AlreadyProcessed') return 'This transaction has already been processed';
  if (err === 'BlockhashNotFound') return 'Blockhash not found';
  if (typeof err === 'object' && Array.isArray(err.InstructionError)) {
    const [index, ixErr] = err.InstructionError as [number, unknown];
    const what = typeof ixErr === 'object' && ixErr !== null && 'Custom' in ixErr
      ? `custom program error: 0x${Number((ixErr as { Custom: number }).Custom).toString(16)}`
      : JSON.stringify(ixErr);
    return `Error processing Instruction ${index}: ${what}`;
  }
  return typeof err === 'string' ? err : JSON.stringify(err);
}

// ---------------------------------------------------------------- SPL token account decoding

export type UiTokenAmount = { amount: string; decimals: number; uiAmount: number | null; uiAmountString: string };
export type TokenBalance = { accountIndex: number; mint: string; owner: string; programId: string; uiTokenAmount: UiTokenAmount };
type RawAccount = { lamports: bigint; data: Uint8Array; owner: string; executable: boolean };
type DecodedTokenAccount = { mint: string; owner: string; amount: bigint; state: 'initialized' | 'frozen' };
type DecodedMint = { mintAuthority: string | null; supply: bigint; decimals: number; isInitialized: boolean; freezeAuthority: string | null };

const TOKEN_PROGRAMS = new Set([TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022_PROGRAM_ID.toBase58()]);
const TOKEN_ACCOUNT_LEN = 165;
const MINT_LEN = 82;
// Token-2022 accounts with extensions carry an AccountType byte right after the base layout.
const ACCOUNT_TYPE_OFFSET = 165;

function readU64(data: Uint8Array, offset: number): bigint {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigUInt64LE(offset);
}

function decodeTokenAccount(acc: RawAccount): DecodedTokenAccount | null {
  const d = acc.data;
  if (!TOKEN_PROGRAMS.has(acc.owner) || d.length < TOKEN_ACCOUNT_LEN) return null;
  if (d.length > TOKEN_ACCOUNT_LEN && d[ACCOUNT_TYPE_OFFSET] !== 2) return null;
  const state = d[108];
  if (state !== 1 && state !== 2) return null; // uninitialized
  return {
    mint: b58.encode(d.subarray(0, 32)),
    owner: b58.encode(d.subarray(32, 64)),
    amount: readU64(d, 64),
    state: state === 1 ? 'initialized' : 'frozen',
  };
}

function decodeMint(acc: RawAccount): DecodedMint | null {
  const d = acc.data;
  if (!TOKEN_PROGRAMS.has(acc.owner) || d.length < MINT_LEN) return null;
  if (d.length !== MINT_LEN && d[ACCOUNT_TYPE_OFFSET] !== 1) return null;
  const optKey = (tagOffset: number) => (d[tagOffset] === 1 ? b58.encode(d.subarray(tagOffset + 4, tagOffset + 36)) : null);
  return {
    mintAuthority: optKey(0),
    supply: readU64(d, 36),
    decimals: d[44] ?? 0,
    isInitialized: d[45] === 1,
    freezeAuthority: optKey(46),
  };
}

/** Integer atomic amount → decimal string without trailing zeros ("1.5", "0", "12"). */
export function formatTokenAmount(amount: bigint, decimals: number): string {
  const base = 10n ** BigInt(decimals);
  const whole = amount / base;
  const frac = (amount % base).toString().padStart(decimals, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  const uiAmountString = formatTokenAmount(amount, decimals);
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString };
}

// ---------------------------------------------------------------- the chain

type AccountsSnapshot = { lamports: number[]; tokenBalances: TokenBalance[] };
type InnerInstructionsJson = { index: number; instructions: { programIdIndex: number; accounts: number[]; data: string; stackHeight: number }[] }[];

type TxRecord = {
  signature: string;
  tx: VersionedTransaction;
  keys: string[];
  slot: number;
  blockTime: number;
  err: TxErrorJson | null;
  fee: number;
  pre: AccountsSnapshot;
  post: AccountsSnapshot;
  logs: string[];
  innerInstructions: InnerInstructionsJson;
  computeUnits: number;
};

type SimulationOutcome = { err: TxErrorJson | null; meta: TransactionMetadata | null; postAccounts: Map<string, RawAccount> };

type ProcessOutcome =
  | { landed: true; record: TxRecord }
  | { landed: false; signature: string; err: TxErrorJson; logs: string[] };

// With sigverify on, the LiteSVM wrapper throws (rather than returning SignatureFailure) when a
// signature slot is empty. Its SolanaError comes from LiteSVM's own copy of @solana/kit.
const isMissingSignatures = (e: unknown) => isSolanaError(e, SOLANA_ERROR__TRANSACTION__SIGNATURES_MISSING);

class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
  }
}

function decodeWireTransaction(bytes: Uint8Array): VersionedTransaction {
  try {
    return VersionedTransaction.deserialize(bytes);
  } catch (e) {
    throw new RpcError(-32602, `invalid transaction: ${(e as Error).message}`);
  }
}

function accountKeys(tx: VersionedTransaction): string[] {
  // Address lookup tables would append loaded keys; the localnet does not serve them.
  if (tx.message.addressTableLookups.length > 0) {
    throw new RpcError(-32602, 'invalid transaction: address lookup tables are not supported by the localnet');
  }
  return tx.message.staticAccountKeys.map((k) => k.toBase58());
}

/** Base fee + priority fee, the way the runtime charges it (5000 lamports per signature). */
function computeFee(message: VersionedMessage): bigint {
  const keys = message.staticAccountKeys.map((k) => k.toBase58());
  let unitLimit: bigint | null = null;
  let microLamportsPerUnit = 0n;
  let otherInstructions = 0n;
  for (const ix of message.compiledInstructions) {
    const data = Buffer.from(ix.data);
    if (keys[ix.programIdIndex] !== COMPUTE_BUDGET_PROGRAM_ID) {
      otherInstructions += 1n;
    } else if (data[0] === 2 && data.length >= 5) {
      unitLimit = BigInt(data.readUInt32LE(1));
    } else if (data[0] === 3 && data.length >= 9) {
      microLamportsPerUnit = data.readBigUInt64LE(1);
    }
  }
  const limit = unitLimit ?? (otherInstructions * 200_000n < 1_400_000n ? otherInstructions * 200_000n : 1_400_000n);
  const priority = (microLamportsPerUnit * limit + 999_999n) / 1_000_000n;
  return BigInt(message.header.numRequiredSignatures) * LAMPORTS_PER_SIGNATURE + priority;
}

class LocalChain {
  readonly records = new Map<string, TxRecord>();
  private readonly listeners = new Set<(record: TxRecord) => void>();
  private readonly baseSlot: bigint;
  private blockhashBornAt = 0;

  constructor(readonly svm: LiteSVM) {
    this.baseSlot = svm.getClock().slot;
    this.setClock(this.baseSlot);
  }

  get slot(): number {
    return Number(this.svm.getClock().slot);
  }
  get blockHeight(): number {
    return Number(this.svm.getClock().slot - this.baseSlot);
  }
  get blockTime(): number {
    return Number(this.svm.getClock().unixTimestamp);
  }
  latestBlockhash(): { blockhash: string; lastValidBlockHeight: number } {
    return { blockhash: this.svm.latestBlockhash(), lastValidBlockHeight: this.blockhashBornAt + BLOCKHASH_LIFETIME_BLOCKS };
  }
  expireBlockhash(): void {
    this.svm.expireBlockhash();
    this.blockhashBornAt = this.blockHeight;
  }
  onLanded(listener: (record: TxRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getAccount(address: string): RawAccount | null {
    const acc = this.svm.getAccount(svmAddress(address));
    if (!acc.exists) return null;
    return { lamports: BigInt(acc.lamports), data: acc.data as Uint8Array, owner: acc.programAddress, executable: acc.executable };
  }

  tokenAccount(address: string): (DecodedTokenAccount & { decimals: number; programId: string }) | null {
    const acc = this.getAccount(address);
    const tokenAccount = acc && decodeTokenAccount(acc);
    if (!acc || !tokenAccount) return null;
    const mintAcc = this.getAccount(tokenAccount.mint);
    const mint = mintAcc && decodeMint(mintAcc);
    return { ...tokenAccount, decimals: mint?.decimals ?? 0, programId: acc.owner };
  }

  private snapshot(keys: string[]): AccountsSnapshot {
    const lamports: number[] = [];
    const tokenBalances: TokenBalance[] = [];
    keys.forEach((key, accountIndex) => {
      lamports.push(Number(this.getAccount(key)?.lamports ?? 0n));
      const t = this.tokenAccount(key);
      if (t) tokenBalances.push({ accountIndex, mint: t.mint, owner: t.owner, programId: t.programId, uiTokenAmount: uiTokenAmount(t.amount, t.decimals) });
    });
    return { lamports, tokenBalances };
  }

  /** Execute a signed wire transaction; only transactions the runtime charges for "land". */
  process(wire: Uint8Array): ProcessOutcome {
    const tx = decodeWireTransaction(wire);
    const signature = b58.encode(tx.signatures[0] ?? new Uint8Array(64));
    // LiteSVM's history would report AlreadyProcessed too, but it must not overwrite our record.
    if (this.records.has(signature)) return { landed: false, signature, err: 'AlreadyProcessed', logs: [] };
    const keys = accountKeys(tx);
    const pre = this.snapshot(keys);
    const slot = this.slot;
    const blockTime = this.blockTime;
    let result: TransactionMetadata | FailedTransactionMetadata;
    try {
      result = this.svm.sendTransaction(getTransactionDecoder().decode(wire) as unknown as SvmTransaction);
    } catch (e) {
      if (!isMissingSignatures(e)) throw e;
      return { landed: false, signature, err: 'SignatureFailure', logs: [] };
    }
    const meta = result instanceof FailedTransactionMetadata ? result.meta() : result;
    const err = result instanceof FailedTransactionMetadata ? txErrorToJson(result.err()) : null;
    if (this.svm.getTransaction(signature as Parameters<LiteSVM['getTransaction']>[0]) === null) {
      return { landed: false, signature, err: err ?? 'SanitizeFailure', logs: meta.logs() };
    }
    const record: TxRecord = {
      signature, tx, keys, slot, blockTime, err,
      fee: Number(computeFee(tx.message)),
      pre,
      post: this.snapshot(keys),
      logs: meta.logs(),
      innerInstructions: innerInstructionsJson(meta),
      computeUnits: Number(meta.computeUnitsConsumed()),
    };
    this.records.set(signature, record);
    this.advanceSlot();
    for (const listener of this.listeners) listener(record);
    return { landed: true, record };
  }

  simulate(wire: Uint8Array, opts: { sigVerify: boolean; replaceRecentBlockhash: boolean }): SimulationOutcome {
    const tx = decodeWireTransaction(wire);
    accountKeys(tx);
    if (opts.replaceRecentBlockhash) tx.message.recentBlockhash = this.svm.latestBlockhash();
    const bytes = opts.replaceRecentBlockhash ? tx.serialize() : wire;
    // Partially signed transactions (x402 payloads before the fee payer co-signs) are simulated
    // with signature checks off, as a real RPC does for sigVerify=false. The chain runs with
    // sigverify on otherwise.
    this.svm.withSigverify(opts.sigVerify);
    try {
      const result = this.svm.simulateTransaction(getTransactionDecoder().decode(bytes) as unknown as SvmTransaction);
      if (result instanceof FailedTransactionMetadata) return { err: txErrorToJson(result.err()), meta: result.meta(), postAccounts: new Map() };
      const postAccounts = new Map<string, RawAccount>();
      for (const a of result.postAccounts()) {
        postAccounts.set(a.address, { lamports: BigInt(a.lamports), data: a.data as Uint8Array, owner: a.programAddress, executable: a.executable });
      }
      return { err: null, meta: result.meta(), postAccounts };
    } catch (e) {
      if (!isMissingSignatures(e)) throw e;
      return { err: 'SignatureFailure', meta: null, postAccounts: new Map() };
    } finally {
      this.svm.withSigverify(true);
    }
  }

  private setClock(slot: bigint): void {
    const c = this.svm.getClock();
    this.svm.setClock(new Clock(slot, c.epochStartTimestamp, c.epoch, c.leaderScheduleEpoch, BigInt(Math.floor(Date.now() / 1000))));
  }

  private advanceSlot(): void {
    this.setClock(this.svm.getClock().slot + 1n);
    // Blockhashes expire after 150 blocks, like a real cluster.
    if (this.blockHeight > this.blockhashBornAt + BLOCKHASH_LIFETIME_BLOCKS) this.expireBlockhash();
  }
}

function innerInstructionsJson(meta: TransactionMetadata): InnerInstructionsJson {
  return meta
    .innerInstructions()
    .map((list, index) => ({
      index,
      instructions: list.map((inner) => {
        const ix = inner.instruction();
        return { programIdIndex: ix.programIdIndex(), accounts: [...ix.accounts()], data: b58.encode(ix.data()), stackHeight: inner.stackHeight() };
      }),
    }))
    .filter((entry) => entry.instructions.length > 0);
}

// ---------------------------------------------------------------- JSON-RPC encoding helpers

type Params = unknown[];
type Config = Record<string, unknown>;

function configAt(params: Params, i: number): Config {
  const c = params[i];
  return c && typeof c === 'object' && !Array.isArray(c) ? (c as Config) : {};
}

function stringParam(params: Params, i: number, what: string): string {
  const v = params[i];
  if (typeof v !== 'string') throw new RpcError(-32602, `Invalid params: ${what} must be a string`);
  return v;
}

function pubkeyParam(params: Params, i: number): string {
  const s = stringParam(params, i, 'address');
  try {
    return new PublicKey(s).toBase58();
  } catch {
    throw new RpcError(-32602, 'Invalid param: Invalid');
  }
}

function wireBytes(encoded: string, encoding: unknown): Uint8Array {
  if (encoding === 'base64') return Buffer.from(encoded, 'base64');
  if (encoding === undefined || encoding === 'base58') {
    try {
      return b58.decode(encoded) as Uint8Array;
    } catch {
      throw new RpcError(-32602, 'invalid transaction: not base58');
    }
  }
  throw new RpcError(-32602, `Invalid params: unsupported encoding ${String(encoding)}`);
}

function encodeAccount(chain: LocalChain, acc: RawAccount | null, encoding: unknown) {
  if (!acc) return null;
  const base = { executable: acc.executable, lamports: Number(acc.lamports), owner: acc.owner, rentEpoch: 0, space: acc.data.length };
  if (encoding === 'jsonParsed') {
    const parsed = parseTokenProgramAccount(chain, acc);
    if (parsed) return { ...base, data: parsed };
  }
  if (encoding === 'base64' || encoding === 'jsonParsed') return { ...base, data: [b64(acc.data), 'base64'] };
  if (encoding === 'base58') return { ...base, data: [b58.encode(acc.data), 'base58'] };
  if (encoding === undefined || encoding === 'binary') return { ...base, data: b58.encode(acc.data) }; // legacy default
  throw new RpcError(-32602, `Invalid params: unsupported encoding ${String(encoding)}`);
}

function parseTokenProgramAccount(chain: LocalChain, acc: RawAccount) {
  const program = acc.owner === TOKEN_PROGRAM_ID.toBase58() ? 'spl-token' : 'spl-token-2022';
  const tokenAccount = decodeTokenAccount(acc);
  if (tokenAccount) {
    const mintAcc = chain.getAccount(tokenAccount.mint);
    const decimals = (mintAcc && decodeMint(mintAcc)?.decimals) ?? 0;
    const info = { isNative: false, mint: tokenAccount.mint, owner: tokenAccount.owner, state: tokenAccount.state, tokenAmount: uiTokenAmount(tokenAccount.amount, decimals) };
    return { program, parsed: { type: 'account', info }, space: acc.data.length };
  }
  const mint = decodeMint(acc);
  if (mint) return { program, parsed: { type: 'mint', info: { ...mint, supply: mint.supply.toString() } }, space: acc.data.length };
  return null;
}

/** jsonParsed form of one instruction; System and SPL Token transfers are decoded like Agave does. */
function parsedInstruction(programId: string, accounts: string[], data: Uint8Array, stackHeight: number | null) {
  const buf = Buffer.from(data);
  const acct = (i: number) => accounts[i] ?? '';
  if (programId === SYSTEM_PROGRAM_ID && buf.length >= 12 && buf.readUInt32LE(0) === 2) {
    return { program: 'system', programId, parsed: { type: 'transfer', info: { source: acct(0), destination: acct(1), lamports: Number(buf.readBigUInt64LE(4)) } }, stackHeight };
  }
  if (TOKEN_PROGRAMS.has(programId)) {
    const program = programId === TOKEN_PROGRAM_ID.toBase58() ? 'spl-token' : 'spl-token-2022';
    if (buf[0] === 3 && buf.length >= 9) {
      return { program, programId, parsed: { type: 'transfer', info: { source: acct(0), destination: acct(1), authority: acct(2), amount: buf.readBigUInt64LE(1).toString() } }, stackHeight };
    }
    if (buf[0] === 12 && buf.length >= 10) {
      const tokenAmount = uiTokenAmount(buf.readBigUInt64LE(1), buf[9] ?? 0);
      return { program, programId, parsed: { type: 'transferChecked', info: { source: acct(0), mint: acct(1), destination: acct(2), authority: acct(3), tokenAmount } }, stackHeight };
    }
  }
  return { programId, accounts, data: b58.encode(data), stackHeight };
}

function encodeTransaction(record: TxRecord, config: Config) {
  const encoding = config.encoding ?? 'json';
  const { tx, keys } = record;
  const version = tx.message.version;
  const maxVersion = config.maxSupportedTransactionVersion;
  if (version !== 'legacy' && (typeof maxVersion !== 'number' || maxVersion < version)) {
    throw new RpcError(-32015, `Transaction version (${version}) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": ${version}`);
  }
  const msg = tx.message;
  const signatures = tx.signatures.map((s) => b58.encode(s));
  const parsed = encoding === 'jsonParsed';
  const rawIx = (programIdIndex: number, accounts: number[], data: Uint8Array, stackHeight: number | null) =>
    parsed
      ? parsedInstruction(keys[programIdIndex] ?? '', accounts.map((i) => keys[i] ?? ''), data, stackHeight)
      : { programIdIndex, accounts, data: b58.encode(data), stackHeight };
  const instructions = msg.compiledInstructions.map((ix) => rawIx(ix.programIdIndex, ix.accountKeyIndexes, ix.data, null));
  const lookups = version === 'legacy' ? {} : { addressTableLookups: [] };
  let transaction: unknown;
  if (encoding === 'base64') transaction = [b64(tx.serialize()), 'base64'];
  else if (encoding === 'base58') transaction = [b58.encode(tx.serialize()), 'base58'];
  else if (parsed) {
    const accountKeys = keys.map((pubkey, i) => ({ pubkey, signer: msg.isAccountSigner(i), writable: msg.isAccountWritable(i), source: 'transaction' }));
    transaction = { signatures, message: { accountKeys, instructions, recentBlockhash: msg.recentBlockhash, ...lookups } };
  } else if (encoding === 'json') {
    transaction = { signatures, message: { accountKeys: keys, header: msg.header, instructions, recentBlockhash: msg.recentBlockhash, ...lookups } };
  } else throw new RpcError(-32602, `Invalid params: unsupported encoding ${String(encoding)}`);

  const innerInstructions = record.innerInstructions.map(({ index, instructions: list }) => ({
    index,
    instructions: list.map((ix) => (parsed ? rawIx(ix.programIdIndex, ix.accounts, b58.decode(ix.data) as Uint8Array, ix.stackHeight) : ix)),
  }));
  return {
    slot: record.slot,
    blockTime: record.blockTime,
    version,
    transaction,
    meta: {
      err: record.err,
      status: record.err === null ? { Ok: null } : { Err: record.err },
      fee: record.fee,
      preBalances: record.pre.lamports,
      postBalances: record.post.lamports,
      preTokenBalances: record.pre.tokenBalances,
      postTokenBalances: record.post.tokenBalances,
      innerInstructions,
      logMessages: record.logs,
      rewards: [],
      loadedAddresses: { writable: [], readonly: [] },
      computeUnitsConsumed: record.computeUnits,
    },
  };
}

function signatureStatus(record: TxRecord) {
  return { slot: record.slot, confirmations: null, err: record.err, status: record.err === null ? { Ok: null } : { Err: record.err }, confirmationStatus: 'finalized' };
}

// ---------------------------------------------------------------- RPC methods

type Handler = (params: Params) => unknown;

function createHandlers(chain: LocalChain, opts: { genesisHash: string; airdrop: (to: PublicKey, lamports: bigint) => string }): Record<string, Handler> {
  const ctx = <T>(value: T) => ({ context: { apiVersion: '2.2.0', slot: chain.slot }, value });

  const simulate = (params: Params) => {
    const config = configAt(params, 1);
    const sigVerify = config.sigVerify === true;
    const replaceRecentBlockhash = config.replaceRecentBlockhash === true;
    if (sigVerify && replaceRecentBlockhash) throw new RpcError(-32602, 'sigVerify may not be used with replaceRecentBlockhash');
    const wire = wireBytes(stringParam(params, 0, 'transaction'), config.encoding);
    const sim = chain.simulate(wire, { sigVerify, replaceRecentBlockhash });
    const accountsConfig = configAt([config.accounts], 0);
    const addresses = Array.isArray(accountsConfig.addresses) ? (accountsConfig.addresses as unknown[]).map(String) : null;
    const accounts = addresses?.map((a) => encodeAccount(chain, sim.postAccounts.get(a) ?? chain.getAccount(a), accountsConfig.encoding ?? 'base64')) ?? null;
    const returned = sim.meta?.returnData();
    const returnData = returned && returned.data().length > 0 ? { programId: b58.encode(returned.programId()), data: [b64(returned.data()), 'base64'] } : null;
    return {
      value: {
        err: sim.err,
        logs: sim.meta?.logs() ?? [],
        accounts,
        unitsConsumed: Number(sim.meta?.computeUnitsConsumed() ?? 0n),
        returnData,
        innerInstructions: config.innerInstructions === true && sim.meta ? innerInstructionsJson(sim.meta) : null,
        replacementBlockhash: replaceRecentBlockhash ? chain.latestBlockhash() : null,
      },
    };
  };

  return {
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': '2.2.0-litesvm', 'feature-set': 0 }),
    getGenesisHash: () => opts.genesisHash,
    getSlot: () => chain.slot,
    getBlockHeight: () => chain.blockHeight,
    getEpochInfo: () => ({ absoluteSlot: chain.slot, blockHeight: chain.blockHeight, epoch: 0, slotIndex: chain.slot, slotsInEpoch: 432_000, transactionCount: chain.records.size }),
    getLatestBlockhash: () => ctx(chain.latestBlockhash()),
    isBlockhashValid: (p) => ctx(stringParam(p, 0, 'blockhash') === chain.latestBlockhash().blockhash),
    getMinimumBalanceForRentExemption: (p) => {
      const len = p[0];
      if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0) throw new RpcError(-32602, 'Invalid params: data length');
      return Number(chain.svm.minimumBalanceForRentExemption(BigInt(len)));
    },
    getFeeForMessage: (p) => {
      let message: VersionedMessage;
      try {
        message = VersionedMessage.deserialize(Buffer.from(stringParam(p, 0, 'message'), 'base64'));
      } catch {
        throw new RpcError(-32602, 'Invalid params: message');
      }
      const valid = message.recentBlockhash === chain.latestBlockhash().blockhash;
      return ctx(valid ? Number(computeFee(message)) : null);
    },
    getBalance: (p) => ctx(Number(chain.getAccount(pubkeyParam(p, 0))?.lamports ?? 0n)),
    getAccountInfo: (p) => ctx(encodeAccount(chain, chain.getAccount(pubkeyParam(p, 0)), configAt(p, 1).encoding)),
    getMultipleAccounts: (p) => {
      const list = p[0];
      if (!Array.isArray(list)) throw new RpcError(-32602, 'Invalid params: expected an array of addresses');
      const encoding = configAt(p, 1).encoding;
      return ctx(list.map((_, i) => encodeAccount(chain, chain.getAccount(pubkeyParam(list, i)), encoding)));
    },
    getTokenAccountBalance: (p) => {
      const t = chain.tokenAccount(pubkeyParam(p, 0));
      if (!t) throw new RpcError(-32602, 'Invalid param: could not find account');
      return ctx(uiTokenAmount(t.amount, t.decimals));
    },
    requestAirdrop: (p) => {
      const lamports = p[1];
      if (typeof lamports !== 'number' || !Number.isSafeInteger(lamports) || lamports <= 0) throw new RpcError(-32602, 'Invalid params: lamports');
      return opts.airdrop(new PublicKey(pubkeyParam(p, 0)), BigInt(lamports));
    },
    simulateTransaction: (p) => ({ context: { apiVersion: '2.2.0', slot: chain.slot }, ...simulate(p) }),
    sendTransaction: (p) => {
      const config = configAt(p, 1);
      const wire = wireBytes(stringParam(p, 0, 'transaction'), config.encoding);
      if (config.skipPreflight !== true) {
        const sim = chain.simulate(wire, { sigVerify: true, replaceRecentBlockhash: false });
        if (sim.err === 'SignatureFailure') throw new RpcError(-32003, 'Transaction signature verification failure');
        if (sim.err !== null) {
          const logs = sim.meta?.logs() ?? [];
          throw new RpcError(-32002, `Transaction simulation failed: ${describeTxError(sim.err)}`, {
            err: sim.err, logs, accounts: null, unitsConsumed: Number(sim.meta?.computeUnitsConsumed() ?? 0n), returnData: null, innerInstructions: null,
          });
        }
      }
      const outcome = chain.process(wire);
      if (outcome.landed) return outcome.record.signature;
      // A real node silently drops these when skipPreflight is set; failing loudly is kinder to tests.
      if (outcome.err === 'SignatureFailure') throw new RpcError(-32003, 'Transaction signature verification failure');
      throw new RpcError(-32002, `Transaction simulation failed: ${describeTxError(outcome.err)}`, {
        err: outcome.err, logs: outcome.logs, accounts: null, unitsConsumed: 0, returnData: null, innerInstructions: null,
      });
    },
    getSignatureStatuses: (p) => {
      const sigs = p[0];
      if (!Array.isArray(sigs) || sigs.length > 256) throw new RpcError(-32602, 'Invalid params: signatures');
      return ctx(sigs.map((s) => {
        const record = typeof s === 'string' ? chain.records.get(s) : undefined;
        return record ? signatureStatus(record) : null;
      }));
    },
    // Newest first, as a real node answers; the payout worker finds a transfer by its reference key this way.
    getSignaturesForAddress: (p) => {
      const address = pubkeyParam(p, 0);
      const limit = Math.min(1000, Number((configAt(p, 1) as { limit?: number }).limit ?? 1000));
      return [...chain.records.values()].filter((r) => r.keys.includes(address)).reverse().slice(0, limit).map((r) => ({
        signature: r.signature, slot: r.slot, err: r.err, memo: null, blockTime: r.blockTime, confirmationStatus: 'finalized',
      }));
    },
    getTransaction: (p) => {
      const sig = stringParam(p, 0, 'signature');
      let bytes: Uint8Array;
      try {
        bytes = b58.decode(sig) as Uint8Array;
      } catch {
        throw new RpcError(-32602, 'Invalid param: Invalid');
      }
      if (bytes.length !== 64) throw new RpcError(-32602, 'Invalid param: Invalid');
      const record = chain.records.get(sig);
      return record ? encodeTransaction(record, configAt(p, 1)) : null;
    },
  };
}

// ---------------------------------------------------------------- HTTP + WebSocket transport

type JsonRpcRequest = { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };

function handleCall(handlers: Record<string, Handler>, req: JsonRpcRequest) {
  if (typeof req !== 'object' || req === null || typeof req.method !== 'string') {
    return { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request' } };
  }
  const id = req.id ?? null;
  const handler = Object.hasOwn(handlers, req.method) ? handlers[req.method] : undefined;
  if (!handler) return { jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } };
  try {
    const result = handler(Array.isArray(req.params) ? req.params : []);
    return { jsonrpc: '2.0', id, result };
  } catch (e) {
    if (e instanceof RpcError) return { jsonrpc: '2.0', id, error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) } };
    return { jsonrpc: '2.0', id, error: { code: -32603, message: `Internal error: ${(e as Error).message}` } };
  }
}

async function readBody(req: http.IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function attachSignatureSubscriptions(wss: WebSocketServer, chain: LocalChain): () => void {
  let nextId = 0;
  const subs = new Map<number, { ws: WebSocket; signature: string }>();
  wss.on('connection', (ws) => {
    ws.on('close', () => {
      for (const [id, sub] of subs) if (sub.ws === ws) subs.delete(id);
    });
    ws.on('message', (raw) => {
      let msg: JsonRpcRequest;
      try {
        msg = JSON.parse(raw.toString()) as JsonRpcRequest;
      } catch {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
        return;
      }
      if (msg.id === undefined || msg.id === null) return; // notifications (web3.js pings)
      const params = Array.isArray(msg.params) ? msg.params : [];
      let reply: unknown;
      if (msg.method === 'signatureSubscribe' && typeof params[0] === 'string') {
        const id = nextId++;
        subs.set(id, { ws, signature: params[0] });
        reply = { jsonrpc: '2.0', id: msg.id, result: id };
      } else if (msg.method === 'signatureUnsubscribe') {
        reply = { jsonrpc: '2.0', id: msg.id, result: typeof params[0] === 'number' && subs.delete(params[0]) };
      } else {
        reply = { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } };
      }
      ws.send(JSON.stringify(reply));
    });
  });
  return chain.onLanded((record) => {
    for (const [id, sub] of subs) {
      if (sub.signature !== record.signature) continue;
      subs.delete(id); // signature subscriptions are one-shot
      const result = { context: { slot: record.slot }, value: { err: record.err } };
      sub.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'signatureNotification', params: { result, subscription: id } }));
    }
  });
}

// ---------------------------------------------------------------- public API

export type SolanaLocalnetOptions = {
  /** Reported by getGenesisHash; defaults to devnet's (see DEVNET_GENESIS_HASH). */
  genesisHash?: string;
};

export type SolanaLocalnet = {
  rpcUrl: string;
  /** web3.js derives ws://host:port+1 by default; pass this as `wsEndpoint` instead. */
  wsUrl: string;
  genesisHash: string;
  /** CAIP-2 id: "solana:" + first 32 chars of the genesis hash. */
  network: `solana:${string}`;
  svm: LiteSVM;
  usdcMint: PublicKey;
  mintAuthority: Keypair;
  /** Pays fees for setup transactions and serves requestAirdrop. */
  faucet: Keypair;
  connection(commitment?: Commitment): Connection;
  airdrop(to: PublicKey, lamports: bigint): string;
  /** New keypair with SOL (default 1 SOL; 0 = no account) and, optionally, USDC in its associated token account. */
  createWallet(opts?: { lamports?: bigint; usdc?: bigint }): Keypair;
  createMint(decimals?: number): { mint: PublicKey; authority: Keypair };
  createAta(mint: PublicKey, owner: PublicKey): PublicKey;
  mintTo(mint: PublicKey, authority: Keypair, owner: PublicKey, amount: bigint): PublicKey;
  /** Balance of owner's associated token account (0 if it does not exist). */
  tokenBalance(mint: PublicKey, owner: PublicKey): bigint;
  /** Rotate the blockhash now; transactions signed against the old one fail with BlockhashNotFound.
   * web3.js Connection.sendTransaction(tx, signers) caches a blockhash for 30 s: use a fresh
   * Connection (or set tx.recentBlockhash yourself) after calling this. */
  expireBlockhash(): void;
  stop(): Promise<void>;
};

export async function startSolanaLocalnet(options: SolanaLocalnetOptions = {}): Promise<SolanaLocalnet> {
  const genesisHash = options.genesisHash ?? DEVNET_GENESIS_HASH;
  const svm = new LiteSVM();
  const chain = new LocalChain(svm);
  const faucet = Keypair.generate();
  const funded = svm.airdrop(svmAddress(faucet.publicKey.toBase58()), FAUCET_LAMPORTS as Parameters<LiteSVM['airdrop']>[1]);
  if (!funded || funded instanceof FailedTransactionMetadata) throw new Error('localnet: could not fund the faucet');
  let nonce = 0;

  // Setup transactions go through the same path as RPC ones. The memo nonce keeps otherwise
  // identical transactions (same blockhash) from colliding as AlreadyProcessed.
  const submit = (instructions: TransactionInstruction[], signers: Keypair[]): string => {
    const tx = new Transaction({ feePayer: faucet.publicKey, ...chain.latestBlockhash() });
    tx.add(...instructions, new TransactionInstruction({ programId: MEMO_PROGRAM_ID, keys: [], data: Buffer.from(`localnet:${nonce++}`) }));
    tx.sign(faucet, ...signers);
    const outcome = chain.process(tx.serialize());
    if (!outcome.landed) throw new Error(`localnet setup transaction rejected: ${describeTxError(outcome.err)}`);
    if (outcome.record.err !== null) throw new Error(`localnet setup transaction failed: ${describeTxError(outcome.record.err)}\n${outcome.record.logs.join('\n')}`);
    return outcome.record.signature;
  };

  const airdrop = (to: PublicKey, lamports: bigint) =>
    submit([SystemProgram.transfer({ fromPubkey: faucet.publicKey, toPubkey: to, lamports })], []);

  const createMint = (decimals = USDC_DECIMALS) => {
    const mint = Keypair.generate();
    const authority = Keypair.generate();
    submit([
      SystemProgram.createAccount({
        fromPubkey: faucet.publicKey,
        newAccountPubkey: mint.publicKey,
        lamports: Number(svm.minimumBalanceForRentExemption(BigInt(MINT_SIZE))),
        space: MINT_SIZE,
        programId: TOKEN_PROGRAM_ID,
      }),
      createInitializeMint2Instruction(mint.publicKey, decimals, authority.publicKey, null),
    ], [mint]);
    return { mint: mint.publicKey, authority };
  };

  const createAta = (mint: PublicKey, owner: PublicKey) => {
    const ata = getAssociatedTokenAddressSync(mint, owner, true);
    submit([createAssociatedTokenAccountIdempotentInstruction(faucet.publicKey, ata, owner, mint)], []);
    return ata;
  };

  const mintTo = (mint: PublicKey, authority: Keypair, owner: PublicKey, amount: bigint) => {
    const ata = getAssociatedTokenAddressSync(mint, owner, true);
    const decimals = decodeMint(chain.getAccount(mint.toBase58()) ?? { lamports: 0n, data: new Uint8Array(), owner: '', executable: false })?.decimals;
    if (decimals === undefined) throw new Error(`not a mint: ${mint.toBase58()}`);
    submit([
      createAssociatedTokenAccountIdempotentInstruction(faucet.publicKey, ata, owner, mint),
      createMintToCheckedInstruction(mint, ata, authority.publicKey, amount, decimals),
    ], [authority]);
    return ata;
  };

  const usdc = createMint(USDC_DECIMALS);
  const handlers = createHandlers(chain, { genesisHash, airdrop });

  const server = http.createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readBody(req) : null;
      let reply: unknown;
      try {
        if (body === null) throw new Error('bad request');
        const parsed = JSON.parse(body) as JsonRpcRequest | JsonRpcRequest[];
        reply = Array.isArray(parsed) ? parsed.map((r) => handleCall(handlers, r)) : handleCall(handlers, parsed);
      } catch {
        reply = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    })();
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
  const detachSubscriptions = attachSignatureSubscriptions(wss, chain);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const rpcUrl = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}`;

  return {
    rpcUrl,
    wsUrl,
    genesisHash,
    network: `solana:${genesisHash.slice(0, 32)}`,
    svm,
    usdcMint: usdc.mint,
    mintAuthority: usdc.authority,
    faucet,
    connection: (commitment: Commitment = 'confirmed') => new Connection(rpcUrl, { commitment, wsEndpoint: wsUrl }),
    airdrop,
    createWallet: (opts = {}) => {
      const wallet = Keypair.generate();
      const lamports = opts.lamports ?? 1_000_000_000n;
      if (lamports > 0n) airdrop(wallet.publicKey, lamports);
      if (opts.usdc !== undefined && opts.usdc > 0n) mintTo(usdc.mint, usdc.authority, wallet.publicKey, opts.usdc);
      return wallet;
    },
    createMint: (decimals?: number) => createMint(decimals),
    createAta,
    mintTo,
    tokenBalance: (mint, owner) => chain.tokenAccount(getAssociatedTokenAddressSync(mint, owner, true).toBase58())?.amount ?? 0n,
    expireBlockhash: () => chain.expireBlockhash(),
    stop: async () => {
      detachSubscriptions();
      // Close code 1000: web3.js's rpc-websockets client reconnects forever after any other code.
      await Promise.all([...wss.clients].map((ws) => new Promise<void>((resolve) => {
        const timer = setTimeout(() => ws.terminate(), 500);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close(1000, 'localnet stopped');
      })));
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
