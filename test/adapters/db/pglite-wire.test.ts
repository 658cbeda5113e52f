import { PGlite } from '@electric-sql/pglite';
import { expect } from 'chai';
import { PgliteWire } from '../../../adapters/db/pglite-wire.ts';

/** PgliteWire must answer exactly as PGlite's query() does, in one backend call per execution. */
describe('PGlite statements in one exchange (PgliteWire)', () => {
  let pglite: PGlite;
  let calls: number;
  beforeEach(async () => {
    pglite = await PGlite.create({ parsers: { 20: (value: string) => BigInt(value) } });
    const exchange = pglite.execProtocolStream.bind(pglite);
    calls = 0;
    pglite.execProtocolStream = (...args) => { calls++; return exchange(...args); };
    await pglite.query('create table t (id int8 primary key, n int4, ok bool, doc jsonb, at timestamptz, tags text[], note text, raw bytea, amount numeric)');
  });
  afterEach(async () => { await pglite.close(); });

  const row = [9007199254740993n, 7, true, { a: [1, 'x'], b: null }, new Date('2026-12-04T10:00:00.123Z'), ['a', 'b,c', 'd"e'], null, Buffer.from([0, 1, 255]), '12.500'];
  const insert = 'insert into t (id, n, ok, doc, at, tags, note, raw, amount) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)';

  it('serializes parameters and parses rows as query() does', async () => {
    const wire = new PgliteWire(pglite);
    await wire.query(insert, row);
    await pglite.query(insert, [1n, ...row.slice(1)]);
    const ours = await wire.query('select * from t order by id', []);
    const theirs = await pglite.query('select * from t order by id');
    expect(ours.rows).to.deep.equal(theirs.rows);
    expect(ours.rows[1]).to.deep.include({ id: 9007199254740993n, n: 7, ok: true, doc: { a: [1, 'x'], b: null }, tags: ['a', 'b,c', 'd"e'], note: null, amount: '12.500' });
    expect((await wire.query('update t set n = n + 1 where n = $1', [7])).affectedRows).to.equal(2);
  });

  it('prepares a statement once and then runs it in one call to the backend', async () => {
    const wire = new PgliteWire(pglite);
    await wire.query('select n from t where id = $1', [1n]);
    calls = 0;
    for (let i = 0; i < 5; i++) await wire.query('select n from t where id = $1', [BigInt(i)]);
    expect(calls).to.equal(5);
    const { rows } = await pglite.query<{ count: bigint }>("select count(*) from pg_prepared_statements where statement = 'select n from t where id = $1'");
    expect(rows[0]!.count).to.equal(1n);
  });

  it('closes statements it no longer keeps, and every one when the schema changes', async () => {
    const wire = new PgliteWire(pglite, 3);
    for (let i = 0; i < 10; i++) await wire.query(`select ${i} as k from t where id = $1`, [1n]);
    const held = async () => (await pglite.query<{ count: bigint }>("select count(*) from pg_prepared_statements where name like 'pw%'")).rows[0]!.count;
    await wire.query('select 1 as k', []);
    expect(await held()).to.equal(3n);
    await wire.query('insert into t (id) values ($1)', [5n]);
    expect(Object.keys((await wire.query('select * from t', [])).rows[0] as object)).to.not.include('extra');
    await wire.query('alter table t add column extra text', []);
    // a plan kept across the change would fail: "cached plan must not change result type"
    expect(Object.keys((await wire.query('select * from t', [])).rows[0] as object)).to.include('extra');
    await wire.query('select 1 as k', []);
    expect(await held()).to.equal(2n);
  });

  it('forgets what a change the text does not show left stale: a rolled-back change, DDL in a function, deallocate, a commented alter', async () => {
    const wire = new PgliteWire(pglite);
    const columns = async () => Object.keys((await wire.query('select * from t limit 1', [])).rows[0] as object);
    await wire.query('insert into t (id, n) values ($1, $2)', [1n, 7]);
    expect(await columns()).to.not.include('b');
    await wire.query('begin', []);
    await wire.query('alter table t add column b text', []);
    expect(await columns()).to.include('b');
    await wire.query('rollback', []);
    expect(await columns()).to.not.include('b');

    await wire.query("create function add_c() returns void language sql as 'alter table t add column c text'", []);
    expect(await columns()).to.not.include('c');
    await wire.query('select add_c()', []);
    expect(await columns()).to.include('c');

    await wire.query('deallocate all', []);
    expect(await columns()).to.include('c');

    // a statement prepared inside the transaction took the changed column's type for its parameter
    const byN = 'select id from t where n = $1';
    await wire.query('begin', []);
    await wire.query('alter table t alter column n type text', []);
    expect((await wire.query(byN, ['7'])).rows).to.deep.equal([{ id: 1n }]);
    await wire.query('rollback', []);
    expect((await wire.query(byN, [7])).rows).to.deep.equal([{ id: 1n }]);

    await wire.query('/* migration */ alter table t alter column n type text', []);
    expect((await wire.query(byN, ['7'])).rows).to.deep.equal([{ id: 1n }]);
  });

  it('keeps two wires on one PGlite apart', async () => {
    const [a, b] = [new PgliteWire(pglite), new PgliteWire(pglite)];
    expect((await a.query('select 1 as x', [])).rows).to.deep.equal([{ x: 1 }]);
    expect((await b.query('select 2 as x', [])).rows).to.deep.equal([{ x: 2 }]);
    expect((await a.query('select 1 as x', [])).rows).to.deep.equal([{ x: 1 }]);
  });

  it('throws the database error and leaves the session usable, in and out of a transaction', async () => {
    const wire = new PgliteWire(pglite);
    await wire.query(insert, row);
    const refused = await wire.query(insert, row).catch((e: unknown) => e as { code?: string; constraint?: string });
    expect(refused).to.include({ code: '23505', constraint: 't_pkey' });
    await wire.query('begin', []);
    await wire.query(insert, [2n, ...row.slice(1)]);
    expect(await wire.query(insert, row).catch((e: { code?: string }) => e.code)).to.equal('23505');
    expect(await wire.query('select 1', []).catch((e: { code?: string }) => e.code)).to.equal('25P02'); // aborted until rollback
    await wire.query('rollback', []);
    expect((await wire.query('select count(*)::int as c from t', [])).rows).to.deep.equal([{ c: 1 }]);
    expect(await wire.query('select $1::int as x', ['not a number']).catch((e: { code?: string }) => e.code)).to.equal('22P02');
    expect((await wire.query('select $1::int as x', [3])).rows).to.deep.equal([{ x: 3 }]);
  });
});
