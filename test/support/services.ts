/**
 * Where the tests find their services, in the order the team agreed:
 *   1. env vars (TEST_DATABASE_URL, TEST_REDIS_URL, EVENTSTORE_URL),
 *   2. testcontainers when a Docker engine answers,
 *   3. the embedded fallback (PGlite, in-memory coordination); suites that need the real thing skip with the reason.
 * Each test gets its own database, so suites never see each other's events.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPglite, openPostgres, type Database } from '../../adapters/db/database.ts';

type Lazy<T> = Promise<T> | undefined;
let postgresAdmin: Lazy<string | null>;
let redisUrl: Lazy<string | null>;
let eventStoreUrl: Lazy<string | null>;
let docker: Lazy<boolean>;

export function dockerAvailable(): Promise<boolean> {
  docker ??= (async () => {
    if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return true;
    } catch {
      return false;
    }
  })();
  return docker;
}

async function container(image: string, port: number, env: Record<string, string>, waitLog: RegExp, times = 1) {
  const { GenericContainer, Wait } = await import('testcontainers');
  return new GenericContainer(image)
    .withEnvironment(env)
    .withExposedPorts(port)
    .withWaitStrategy(Wait.forLogMessage(waitLog, times))
    .start();
}

/** A server URL for creating per-test databases, or null when no real Postgres can be had. */
export function postgresAdminUrl(): Promise<string | null> {
  postgresAdmin ??= (async () => {
    if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
    if (!(await dockerAvailable())) return null;
    const c = await container('postgres:16-alpine', 5432, { POSTGRES_HOST_AUTH_METHOD: 'trust' }, /ready to accept connections/, 2);
    return `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
  })();
  return postgresAdmin;
}

export function testRedisUrl(): Promise<string | null> {
  redisUrl ??= (async () => {
    if (process.env.TEST_REDIS_URL) return process.env.TEST_REDIS_URL;
    if (!(await dockerAvailable())) return null;
    const c = await container('redis:7-alpine', 6379, {}, /Ready to accept connections/);
    return `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
  })();
  return redisUrl;
}

export function testEventStoreUrl(): Promise<string | null> {
  eventStoreUrl ??= (async () => {
    if (process.env.EVENTSTORE_URL) return process.env.EVENTSTORE_URL;
    if (!(await dockerAvailable())) return null;
    const c = await container(
      'eventstore/eventstore:24.10',
      2113,
      { EVENTSTORE_INSECURE: 'true', EVENTSTORE_RUN_PROJECTIONS: 'None', EVENTSTORE_MEM_DB: 'true' },
      /IS LEADER/,
    );
    return `esdb://${c.getHost()}:${c.getMappedPort(2113)}?tls=false`;
  })();
  return eventStoreUrl;
}

export interface TestDatabase {
  database: Database;
  /** Connection string of this test's own database (postgres only). */
  url: string | null;
  dispose(): Promise<void>;
}

/** A fresh, empty database: a new Postgres database on the test server, or an in-memory PGlite. */
export async function createTestDatabase(kind: 'postgres' | 'pglite'): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const database = await openPglite();
    return { database, url: null, dispose: () => database.close() };
  }
  const admin = await postgresAdminUrl();
  if (!admin) throw new Error('no PostgreSQL for tests: set TEST_DATABASE_URL or run a Docker engine');
  const name = `t_${randomBytes(6).toString('hex')}`;
  await withAdmin(admin, (c) => c.query(`create database ${name}`));
  const url = withDatabaseName(admin, name);
  const database = await openPostgres(url);
  return {
    database,
    url,
    async dispose() {
      await database.close();
      await withAdmin(admin, async (c) => {
        // pg's Pool.end() resolves before its sockets are closed; a forced drop would kill them
        // mid-goodbye and surface as an uncaught error, so let them leave first.
        for (let i = 0; i < 100; i++) {
          const { rows } = await c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      });
    },
  };
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The database kinds a suite should run on: PGlite always, Postgres when one was found. */
export async function databaseKinds(): Promise<Array<'postgres' | 'pglite'>> {
  return (await postgresAdminUrl()) ? ['postgres', 'pglite'] : ['pglite'];
}
