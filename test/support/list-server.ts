import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server that serves fixed documents (scraped lists in each parser's format). */
export async function startListServer(docs: Record<string, { type: string; body: string }>) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const doc = docs[(req.url ?? '').split('?')[0]!];
    if (!doc) { res.statusCode = 404; res.end('not found'); return; }
    res.setHeader('content-type', doc.type);
    res.end(doc.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits, docs, stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
