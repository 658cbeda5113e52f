import { request } from 'undici';

/** The largest RPC answer read (viem's own default limit). */
const MAX_RESPONSE_BYTES = 10_485_760;

interface RpcInit {
  body?: unknown;
  headers?: unknown;
  method?: string;
  signal?: AbortSignal | null;
}

/**
 * viem's `fetchFn` on undici's `request`: a JSON-RPC call is one small POST, and the global `fetch` spent
 * more CPU on its streams, request objects and timing entries than the payment check it serves (a purchase
 * makes one RPC; about 8 % of a purchase's CPU went there). Answers only what viem's HTTP client reads of a
 * Response: status, ok, statusText, headers.get, and the text (body null, so viem reads text()).
 */
export async function rpcFetch(url: string | URL | Request, init: RpcInit = {}): Promise<Response> {
  const target = typeof url === 'string' || url instanceof URL ? url : url.url;
  const res = await request(target, {
    method: (init.method ?? 'POST') as 'POST',
    headers: init.headers as Record<string, string>,
    body: init.body as string,
    signal: init.signal ?? undefined,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      res.body.destroy();
      throw new Error(`RPC answer over ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const header = (name: string): string | null => {
    const value = res.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    ok: res.statusCode >= 200 && res.statusCode < 300,
    status: res.statusCode,
    statusText: '',
    headers: { get: header },
    body: null,
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
  } as unknown as Response;
}
