import { parseArgs } from 'node:util';
import pino from 'pino';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import { projections } from '../projections/index.ts';
import { systemClock } from './clock.ts';
import { createLogger } from './logger.ts';
import { ConfigError, loadConfig } from './config.ts';
import type { Infrastructure } from './infrastructure.ts';
import { fleetDecider } from '../domain/fleet/decide.ts';
import { deviceStreamId, type FleetEvent } from '../domain/fleet/events.ts';
import { maskUpstream, parseStoredUpstream } from '../domain/fleet/upstream.ts';
import { handleCommand } from './commands/handle.ts';
import { resealDevice } from './fleet/secrets.ts';

const USAGE = `usage: npm run cli -- <command>
  rebuild [--projection NAME]          empty one read model (or all) and replay $all into it
  events --stream ID                   audit export of one stream, one JSON line per event
  events --all [--from POSITION]       audit export of $all from a position (inclusive); sealed secrets stay sealed
  reseal                               seal every device's secrets again under SECRETS_KEY (key rotation: the old
                                       key in SECRETS_KEY_PREVIOUS opens them); appends DeviceSecretsResealed
Configuration comes from the same environment as the service (DATABASE_URL, EVENTSTORE_URL, DATA_DIR).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  // Arguments are checked before anything is opened, so a typo answers at once.
  let action: (infra: Infrastructure) => Promise<number>;
  try {
    action = command === 'rebuild' ? rebuild(rest) : command === 'events' ? exportEvents(rest) : command === 'reseal' ? reseal(rest) : usageError(`unknown command "${command}"`);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { openInfrastructure } = await import('./infrastructure.ts');
  const infra = await openInfrastructure(loadConfig(), systemClock, createLogger('warn', pino.destination(2)));
  try {
    return await action(infra);
  } finally {
    await infra.close();
  }
}

function usageError(message: string): never {
  throw new Error(message);
}

function rebuild(args: string[]) {
  const { values } = parseArgs({ args, options: { projection: { type: 'string' } }, strict: true });
  const known = projections.map((p) => p.name);
  if (values.projection && !known.includes(values.projection)) usageError(`unknown projection "${values.projection}" (known: ${known.join(', ')})`);
  const names = values.projection ? [values.projection] : known;
  return (infra: Infrastructure) => runRebuild(infra, names);
}

async function runRebuild(infra: Infrastructure, names: string[]): Promise<number> {
  const tty = process.stderr.isTTY;
  let lastDraw = 0;
  const results = await infra.projector.rebuild(names, ({ projection, applied, position, head }) => {
    const now = Date.now();
    if (now - lastDraw < 100 && position < head) return;
    lastDraw = now;
    process.stderr.write(`${tty ? '\r' : ''}${progressBar(projection, position, head)} ${applied} events${tty ? '' : '\n'}`);
  });
  if (tty) process.stderr.write('\n');
  for (const r of results) {
    const eps = r.ms > 0 ? Math.round((r.applied / r.ms) * 1000) : r.applied;
    console.log(`rebuilt ${r.projection}: ${r.applied} events in ${(r.ms / 1000).toFixed(2)} s (${eps} events/s)`);
  }
  return 0;
}

/** Positions are sparse, so the bar is the share of the position range already passed. */
function progressBar(name: string, position: bigint, head: bigint): string {
  const share = head <= 0n ? 1 : Math.min(1, Math.max(0, Number((position * 1000n) / head) / 1000));
  const width = 30;
  const filled = Math.round(share * width);
  return `${name.padEnd(12)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`;
}

function exportEvents(args: string[]) {
  const { values } = parseArgs({ args, options: { stream: { type: 'string' }, all: { type: 'boolean' }, from: { type: 'string' } }, strict: true });
  if (Boolean(values.stream) === Boolean(values.all)) usageError('events: give exactly one of --stream ID or --all');
  if (values.from !== undefined && !/^\d+$/.test(values.from)) usageError('events: --from takes a position (a whole number)');
  return (infra: Infrastructure) => writeEvents(infra, values);
}

async function writeEvents(infra: Infrastructure, values: { stream?: string; from?: string }): Promise<number> {
  const events = values.stream
    ? infra.store.readStream(values.stream)
    : infra.store.readAll(values.from !== undefined ? { fromPosition: BigInt(values.from) } : {});
  for await (const event of events) {
    if (!process.stdout.write(`${auditLine(event)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
  }
  return 0;
}

function auditLine(e: RecordedEvent): string {
  return JSON.stringify({
    position: e.position.toString(),
    streamId: e.streamId,
    revision: e.revision.toString(),
    id: e.id,
    type: e.type,
    data: auditData(e),
    metadata: e.metadata,
  });
}

/** Sealed values are exported as they are (sealed:…); a password recorded in clear before sealing existed is masked. */
function auditData(e: RecordedEvent): unknown {
  if (e.type !== 'DeviceRegistered') return e.data;
  const data = e.data as { upstream?: string };
  if (typeof data.upstream !== 'string') return data;
  try {
    const parts = parseStoredUpstream(data.upstream);
    return parts.password && !parts.sealed ? { ...data, upstream: maskUpstream(data.upstream) } : data;
  } catch {
    return data;
  }
}

function reseal(args: string[]) {
  parseArgs({ args, options: {}, strict: true });
  return (infra: Infrastructure) => runReseal(infra);
}

/** Key rotation: every active device's secrets under the current key, one DeviceSecretsResealed each. */
async function runReseal(infra: Infrastructure): Promise<number> {
  // from the events, not a read model: the CLI runs no projector, and the read models may lag behind
  const ids = new Set<string>();
  for await (const e of infra.store.readAll()) if (e.type === 'DeviceRegistered') ids.add((e.data as { deviceId: string }).deviceId);
  let resealed = 0;
  let active = 0;
  for (const deviceId of ids) {
    // the stream, not the read model: the CLI runs no projector, so a second run must see the first one's events
    let state = fleetDecider.initialState();
    for await (const e of infra.store.readStream(deviceStreamId(deviceId))) state = fleetDecider.evolve(state, { type: e.type, data: e.data } as FleetEvent);
    if (state.status !== 'active') continue;
    active++;
    const next = resealDevice(infra.secrets, { upstream: state.device.upstream, resetUrl: state.device.resetUrl ?? null });
    if (!next) continue;
    await handleCommand(infra, fleetDecider, deviceStreamId(deviceId), { type: 'ResealSecrets', data: { deviceId, ...next } }, { actor: 'cli', correlationId: 'reseal' });
    resealed++;
  }
  console.log(`resealed ${resealed} of ${active} active devices under key ${infra.secrets.primaryId}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    console.error(error instanceof ConfigError ? error.message : `error: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
