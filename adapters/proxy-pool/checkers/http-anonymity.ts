import type { Anonymity } from '../../../domain/proxy-pool/proxies.ts';
import { errorText, type JudgeEcho, type ProxyChecker } from './checker.ts';
import { askJudge } from './judge.ts';

/** Headers proxies add that show a proxy is in the way. */
export const PROXY_HEADERS = [
  'via', 'x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded', 'forwarded-for', 'x-forwarded-host', 'x-proxy-id', 'proxy-connection',
  'x-tinyproxy', 'client-ip', 'x-client-ip', 'x-originating-ip', 'x-remote-ip', 'x-remote-addr', 'x-bluecoat-via', 'x-cache', 'cache-control-proxy',
];

/**
 * transparent: our own address reaches the target (in a header, or as the source);
 * anonymous: proxy headers show; elite: neither.
 */
export function classify(echo: JudgeEcho, ownAddresses: ReadonlySet<string>): { anonymity: Anonymity; reason: string } {
  const headers = Object.entries(echo.headers).map(([k, v]) => [k.toLowerCase(), String(v)] as const);
  if (ownAddresses.has(echo.remote_address)) return { anonymity: 'transparent', reason: `the target sees our address ${echo.remote_address}` };
  for (const [name, value] of headers) {
    for (const own of ownAddresses) {
      if (value.split(/[\s,;="]+/).includes(own)) return { anonymity: 'transparent', reason: `${name} carries our address ${own}` };
    }
  }
  const shown = headers.filter(([k]) => PROXY_HEADERS.includes(k)).map(([k]) => k);
  if (shown.length) return { anonymity: 'anonymous', reason: `proxy headers: ${shown.join(', ')}` };
  return { anonymity: 'elite', reason: 'no proxy headers, our address hidden' };
}

/**
 * Stage 2: what the judge sees of a plain HTTP request through the proxy. Tunnels (CONNECT, SOCKS)
 * cannot add headers, so for them the protocol check's echo is the answer.
 */
export const httpAnonymityChecker: ProxyChecker = {
  name: 'http_anonymity', stage: 2, priority: 10,
  async check(target, env, findings) {
    let echo = findings.echo;
    if (!echo || !env.judgeUrl) return { passed: false, detail: 'no judge answer to judge', latencyMs: null };
    const started = performance.now();
    let via = findings.echoMode ?? 'forward';
    if (findings.echoMode === 'connect') {
      try { echo = await askJudge(target, 'forward', env.judgeUrl, env.timeoutMs); via = 'forward'; } catch (e) { void errorText(e); /* a CONNECT-only proxy: judge the tunnel */ }
    }
    const { anonymity, reason } = classify(echo, env.ownAddresses);
    findings.anonymity = anonymity;
    findings.echo = echo;
    return { passed: true, detail: `${anonymity} (${via}): ${reason}`, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  },
};

/** Stage 2: the address the target sees. */
export const exitIpChecker: ProxyChecker = {
  name: 'exit_ip', stage: 2, priority: 20,
  async check(_target, _env, findings) {
    if (!findings.echo) return { passed: false, detail: 'no judge answer', latencyMs: null };
    findings.exitIp = findings.echo.remote_address;
    return { passed: true, detail: `exit ${findings.exitIp}`, latencyMs: null };
  },
};
