import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createPublicClient, http as viemHttp, HttpRequestError } from 'viem';
import { rpcFetch } from '../../../../adapters/chains/evm/rpc-fetch.ts';

/** viem's HTTP transport on rpcFetch, against a JSON-RPC server that answers as a node, fails as a proxy, or floods. */
describe('rpcFetch (viem fetchFn on undici request)', () => {
  let server: http.Server;
  let url: string;
  let answer: (body: { id: number; method: string }, res: http.ServerResponse) => void;
  before(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => answer(JSON.parse(raw), res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const client = () => createPublicClient({ transport: viemHttp(url, { retryCount: 0, fetchFn: rpcFetch }) });

  it('carries a call and its answer', async () => {
    answer = (body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result: body.method === 'eth_blockNumber' ? '0x2a' : null }));
    };
    expect(await client().getBlockNumber({ cacheTime: 0 })).to.equal(42n);
  });

  it('passes a JSON-RPC error on, and an HTTP failure as HttpRequestError', async () => {
    answer = (body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: -32000, message: 'header not found' } }));
    };
    const rpcError = await client().getBlockNumber({ cacheTime: 0 }).catch((e: Error) => e);
    expect(String(rpcError)).to.include('header not found');
    answer = (_body, res) => { res.writeHead(502, { 'content-type': 'text/plain' }); res.end('bad gateway'); };
    const httpError = await client().getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    expect(httpError).to.be.instanceOf(HttpRequestError).and.have.property('status', 502);
  });

  it('refuses an answer over 10 MB without holding it all', async () => {
    answer = (_body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 11; i++) res.write(chunk);
      res.end('{}');
    };
    const error = await client().getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    expect(String(error)).to.include('over 10485760 bytes');
  });
});
