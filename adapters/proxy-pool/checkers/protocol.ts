import type { ProxyProtocol } from '../../../domain/proxy-pool/sources.ts';
import { errorText, type ProxyChecker } from './checker.ts';
import { askJudge } from './judge.ts';
import type { ProxyMode } from './tunnel.ts';

const PROTOCOL_OF: Record<ProxyMode, ProxyProtocol> = { connect: 'https', forward: 'http', socks5: 'socks5', socks4: 'socks4' };

/** The list's protocol is tried first (fewer wrong greetings), then the others. */
export function attemptOrder(declared: ProxyProtocol): ProxyMode[] {
  switch (declared) {
    case 'socks5': return ['socks5', 'socks4', 'connect', 'forward'];
    case 'socks4': return ['socks4', 'socks5', 'connect', 'forward'];
    case 'http':
    case 'https': return ['connect', 'forward', 'socks5', 'socks4'];
  }
}

/**
 * Stage 2: which protocol carries a request to the judge. An HTTP proxy that tunnels CONNECT is
 * `https`; one that only forwards plain requests is `http`.
 */
export const protocolChecker: ProxyChecker = {
  name: 'protocol', stage: 2, priority: 0,
  async check(target, env, findings) {
    if (!env.judgeUrl) return { passed: false, detail: 'no judge configured (POOL_JUDGE_URL)', latencyMs: null };
    const tried: string[] = [];
    for (const mode of attemptOrder(target.declaredProtocol)) {
      const started = performance.now();
      try {
        findings.echo = await askJudge(target, mode, env.judgeUrl, env.timeoutMs);
        findings.echoMode = mode;
        findings.protocol = PROTOCOL_OF[mode];
        findings.latencyMs = Math.round((performance.now() - started) * 10) / 10;
        return { passed: true, detail: `${findings.protocol} (${mode})${tried.length ? `; not: ${tried.join(', ')}` : ''}`, latencyMs: findings.latencyMs };
      } catch (e) {
        tried.push(`${mode}: ${errorText(e)}`);
      }
    }
    return { passed: false, detail: `no protocol worked: ${tried.join('; ')}`.slice(0, 500), latencyMs: null };
  },
};
