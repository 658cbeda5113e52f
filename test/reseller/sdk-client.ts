/**
 * A client that behaves as the public reseller SDK (bolivian-peru/proxy-reseller-kit, packages/sdk)
 * does, written for these tests: the same paths, headers (X-API-Key, Idempotency-Key, JSON), error
 * object (status, body, requestId from X-Request-ID) and retry rule (429, 5xx and network errors;
 * Retry-After honoured up to maxDelayMs, otherwise exponential backoff with full jitter).
 */
export class ApiError extends Error {
  retryAfterMs?: number;
  constructor(readonly status: number, readonly body: string, readonly data: any, readonly requestId: string | undefined) {
    super(`API ${status}: ${body.slice(0, 200)}`);
  }
}

export interface RetryConfig { attempts: number; baseDelayMs: number; maxDelayMs: number }

function parseRetryAfter(header: string): number {
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0;
}

export class ResellerClient {
  readonly attemptsMade: number[] = [];
  private readonly retry: RetryConfig | null;

  constructor(private readonly apiKey: string, private readonly baseUrl: string, retry: Partial<RetryConfig> | false = {}) {
    this.retry = retry === false ? null : { attempts: 3, baseDelayMs: 250, maxDelayMs: 4000, ...retry };
  }

  async request<T = any>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    const attempts = this.retry?.attempts ?? 1;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(path, init);
      } catch (err) {
        const retryable = this.retry !== null && (!(err instanceof ApiError) || err.status === 429 || err.status >= 500);
        if (!retryable || attempt === attempts - 1) throw err;
        const cfg = this.retry!;
        const hinted = err instanceof ApiError ? err.retryAfterMs : undefined;
        const delay = typeof hinted === 'number' && hinted > 0 ? Math.min(hinted, cfg.maxDelayMs) : Math.floor(Math.random() * Math.min(cfg.maxDelayMs, cfg.baseDelayMs * 2 ** attempt));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async once<T>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<T> {
    this.attemptsMade.push(Date.now());
    const headers: Record<string, string> = { 'X-API-Key': this.apiKey, Accept: 'application/json', 'User-Agent': '@proxies-sx/pool-sdk/test', ...(init.headers ?? {}) };
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}/v1${path}`, { method: init.method ?? 'GET', headers, body });
    const text = await res.text();
    let data: any;
    try { data = text ? JSON.parse(text) : undefined; } catch { data = undefined; }
    if (!res.ok) {
      const err = new ApiError(res.status, text, data, res.headers.get('x-request-id') ?? undefined);
      const ra = res.headers.get('retry-after');
      if (ra !== null) err.retryAfterMs = parseRetryAfter(ra);
      throw err;
    }
    return data as T;
  }

  private idem(key: string | undefined): Record<string, string> { return key === undefined ? {} : { 'Idempotency-Key': key }; }
  private id(keyId: string) { return encodeURIComponent(keyId); }

  create(input: { label: string; trafficCapGB?: number | null; qualityTier?: 'safe' | 'standard'; expiresAt?: string | null; idempotencyKey?: string }) {
    const { idempotencyKey, ...body } = input;
    return this.request('/reseller/pool-keys', { method: 'POST', body, headers: this.idem(idempotencyKey) });
  }
  list() { return this.request<any[]>('/reseller/pool-keys'); }
  get(keyId: string) { return this.request(`/reseller/pool-keys/${this.id(keyId)}`); }
  update(keyId: string, input: Record<string, unknown>) { return this.request(`/reseller/pool-keys/${this.id(keyId)}`, { method: 'PATCH', body: input }); }
  topUp(keyId: string, input: { addTrafficGB?: number; extendDays?: number; idempotencyKey?: string }) {
    const { idempotencyKey, ...body } = input;
    return this.request(`/reseller/pool-keys/${this.id(keyId)}/topup`, { method: 'POST', body, headers: this.idem(idempotencyKey) });
  }
  regenerate(keyId: string, opts: { idempotencyKey?: string } = {}) { return this.request(`/reseller/pool-keys/${this.id(keyId)}/regenerate`, { method: 'POST', headers: this.idem(opts.idempotencyKey) }); }
  async delete(keyId: string) { await this.request(`/reseller/pool-keys/${this.id(keyId)}`, { method: 'DELETE' }); }
  reveal(keyId: string) { return this.request(`/reseller/pool-keys/${this.id(keyId)}/reveal`, { method: 'POST' }); }
  audit(opts: { action?: string; before?: string; limit?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(opts).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string])).toString();
    return this.request<any[]>(`/reseller/pool-keys/audit${qs ? `?${qs}` : ''}`);
  }
  auditForKey(keyId: string, opts: { before?: string; limit?: number } = {}) {
    const qs = new URLSearchParams(Object.entries(opts).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string])).toString();
    return this.request<any[]>(`/reseller/pool-keys/${this.id(keyId)}/audit${qs ? `?${qs}` : ''}`);
  }
  async getStock() {
    const raw = await this.request('/gateway/pool/stock');
    if (!raw || typeof raw !== 'object' || !('pools' in raw) || !('totals' in raw) || !('generatedAt' in raw)) throw new Error('PoolStock response shape unexpected');
    return raw;
  }
  /** As the SDK: a bare string (deprecated) or `{ country?, pool? }`; no country asks for the whole catalogue. */
  async getCarrierStock(arg?: string | { country?: string; pool?: 'peer' | 'mbl' | 'all' }) {
    const { country, pool } = typeof arg === 'string' ? { country: arg, pool: undefined } : (arg ?? {});
    const qs = new URLSearchParams();
    if (country) qs.set('country', country);
    if (pool) qs.set('pool', pool);
    const q = qs.toString();
    const raw = await this.request(`/gateway/pool/stock/carriers${q ? `?${q}` : ''}`);
    const ok = country ? !!raw && Array.isArray(raw.carriers) : !!raw && !!raw.countries;
    if (!ok) throw new Error('CarrierStock response shape unexpected');
    return raw;
  }
  async getCities(country: string, opts: { pool?: 'peer' | 'mbl' | 'all' } = {}) {
    const qs = new URLSearchParams({ country });
    if (opts.pool) qs.set('pool', opts.pool);
    const raw = await this.request(`/gateway/pool/stock/cities?${qs.toString()}`);
    if (!raw || !Array.isArray(raw.cities) || !Array.isArray(raw.regions)) throw new Error('PoolCities response shape unexpected');
    return raw;
  }
  async getFacets(opts: { country: string; pool?: 'peer' | 'mbl' | 'all'; city?: string; carrier?: string; state?: string }) {
    const qs = new URLSearchParams({ country: opts.country });
    for (const k of ['pool', 'city', 'carrier', 'state'] as const) if (opts[k]) qs.set(k, opts[k]!);
    const raw = await this.request(`/gateway/pool/stock/facets?${qs.toString()}`);
    if (!raw || !Array.isArray(raw.cities) || !Array.isArray(raw.carriers) || !Array.isArray(raw.states)) throw new Error('PoolFacets response shape unexpected');
    return raw;
  }
  async getIncidents() { const raw = await this.request('/gateway/incidents'); return Array.isArray(raw) ? raw : raw.incidents; }
  sessions(opts: { pakId?: string } = {}) { return this.request(`/gateway/pool/my-sessions${opts.pakId ? `?pakId=${encodeURIComponent(opts.pakId)}` : ''}`); }
  closeSession(sessionKey: string, opts: { pakId?: string } = {}) {
    return this.request(`/gateway/pool/my-sessions/${encodeURIComponent(sessionKey)}${opts.pakId ? `?pakId=${encodeURIComponent(opts.pakId)}` : ''}`, { method: 'DELETE' });
  }
}

/** The SDK's buildProxyUrl, for the tokens these tests use. */
export function proxyUrl(proxyUsername: string, pak: string, opts: { pool?: string; country?: string; sid?: string; rotation?: string; protocol?: 'http' | 'socks5'; host: string; port: number }): string {
  const tokens = [opts.pool ?? 'mbl'];
  if (opts.country) tokens.push(opts.country);
  if (opts.sid) tokens.push('sid', opts.sid);
  if (opts.rotation && opts.rotation !== 'auto10') tokens.push('rot', opts.rotation);
  return `${opts.protocol ?? 'http'}://${encodeURIComponent(`${proxyUsername}-${tokens.join('-')}`)}:${encodeURIComponent(pak)}@${opts.host}:${opts.port}`;
}
