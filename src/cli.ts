import { parseArgs } from 'node:util';
import pino from 'pino';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import { projections } from '../projections/index.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig } from './config.ts';
import type { Infrastructure } from './infrastructure.ts';

const USAGE = `usage: npm run cli -- <command>
  rebuild [--projection NAME]          empty one read model (or all) and replay $all into it
  events --stream ID                   audit export of one stream, one JSON line per event
  events --all [--from POSITION]       audit export of $all from a position (inclusive)
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
    action = command === 'rebuild' ? rebuild(rest) : command === 'events' ? exportEvents(rest) : usageError(`unknown command "${command}"`);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { openInfrastructure } = await import('./infrastructure.ts');
  const infra = await openInfrastructure(loadConfig(), systemClock, pino({ level: 'warn' }, pino.destination(2)));
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
    data: e.data,
    metadata: e.metadata,
  });
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    console.error(error instanceof ConfigError ? error.message : `error: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
