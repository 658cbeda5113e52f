/** Plain HTTP to this API; an error answer becomes an Error with its code and message. */
export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly body: unknown) {
    super(message);
  }
}

export type Fetch = typeof fetch;

export function apiClient(baseUrl: string, fetchImpl: Fetch = fetch) {
  const root = baseUrl.replace(/\/$/, '');
  async function call<T = any>(method: string, path: string, opts: { query?: Record<string, unknown>; body?: unknown; headers?: Record<string, string>; via?: Fetch } = {}): Promise<T> {
    const url = new URL(root + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    const res = await (opts.via ?? fetchImpl)(url.toString(), {
      method,
      headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    let body: any = text;
    try { body = text ? JSON.parse(text) : undefined; } catch { /* plain text */ }
    if (!res.ok) {
      const code = body?.error?.code ?? (res.status === 402 ? 'PAYMENT_REQUIRED' : `HTTP_${res.status}`);
      const message = body?.error?.message ?? (res.status === 402 ? 'payment required (no wallet configured: set AGENT_WALLET_KEY)' : String(text).slice(0, 300));
      throw new ApiCallError(res.status, code, `${code} (${res.status}): ${message}`, body);
    }
    return body as T;
  }
  return {
    root,
    get: <T = any>(path: string, query?: Record<string, unknown>, headers?: Record<string, string>) => call<T>('GET', path, { query, headers }),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>, query?: Record<string, unknown>) => call<T>('POST', path, { body, headers, query }),
    call,
  };
}
export type ApiClient = ReturnType<typeof apiClient>;
