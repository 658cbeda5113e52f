import { Agent, request } from 'undici';
import { resolveAndCheck, systemLookup, type Cidr, type LookupFn } from '../gateway/ssrf.ts';

/**
 * GET a URL the way the gateway reaches targets: resolve once, refuse non-public addresses (unless the
 * allow-list opens them), connect to exactly the checked address. No redirects; the body is cut off
 * at `maxBytes` and the whole fetch at `timeoutMs`.
 */
export interface GuardedFetchOptions { allowedPrivateCidrs: readonly Cidr[]; maxBytes: number; timeoutMs: number; lookup?: LookupFn }

export class FetchRefused extends Error {
  constructor(readonly code: 'URL_INVALID' | 'URL_BLOCKED' | 'FETCH_FAILED' | 'TOO_LARGE', message: string) { super(message); }
}

export async function guardedFetch(raw: string, opts: GuardedFetchOptions): Promise<{ status: number; contentType: string | null; body: string }> {
  let url: URL;
  try { url = new URL(raw); } catch { throw new FetchRefused('URL_INVALID', `${raw} is not a URL`); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefused('URL_INVALID', 'only http and https URLs can be fetched');
  const checked = await checkUrlHost(url, opts);
  const agent = new Agent({
    connect: { lookup: (_h: string, _o: unknown, cb: (e: Error | null, a: string, f: number) => void) => cb(null, checked.address, checked.family), timeout: opts.timeoutMs },
  });
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await request(url, { dispatcher: agent, signal, headers: { 'user-agent': 'proxy-pool/1 (+scraper)', accept: '*/*' }, maxRedirections: 0 } as Parameters<typeof request>[1]);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > opts.maxBytes) { res.body.destroy(); throw new FetchRefused('TOO_LARGE', `the source is larger than ${opts.maxBytes} bytes`); }
      chunks.push(chunk);
    }
    const type = res.headers['content-type'];
    return { status: res.statusCode, contentType: typeof type === 'string' ? type : null, body: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    if (error instanceof FetchRefused) throw error;
    throw new FetchRefused('FETCH_FAILED', `fetching ${url.origin} failed: ${(error as Error).message}`);
  } finally {
    await agent.close().catch(() => {});
  }
}

export async function checkUrlHost(url: URL, opts: Pick<GuardedFetchOptions, 'allowedPrivateCidrs' | 'lookup'>) {
  const checked = await resolveAndCheck(url.hostname, { lookup: opts.lookup ?? systemLookup, allowedPrivateCidrs: opts.allowedPrivateCidrs });
  if (!checked.ok) throw new FetchRefused('URL_BLOCKED', checked.message);
  return checked;
}
