import type { StageResult } from '../../../domain/proxy-pool/proxies.ts';
import type { CheckEnv, CheckTarget, Findings, ProxyChecker } from './checker.ts';
import { geoCountryChecker } from './geo-country.ts';
import { exitIpChecker, httpAnonymityChecker } from './http-anonymity.ts';
import { protocolChecker } from './protocol.ts';
import { tcpConnectChecker } from './tcp-connect.ts';

/** Every checker plugin, in the order they run (stage, then priority). */
export const checkers: readonly ProxyChecker[] = [tcpConnectChecker, protocolChecker, httpAnonymityChecker, exitIpChecker, geoCountryChecker]
  .sort((a, b) => a.stage - b.stage || a.priority - b.priority);

/** A proxy is usable when it connects and carries a request: these must pass. */
export const ESSENTIAL = new Set(['tcp_connect', 'protocol']);

/** Runs the stages in order; stops at the first failure. */
export async function runCheckers(target: CheckTarget, env: CheckEnv, list: readonly ProxyChecker[] = checkers): Promise<{ results: StageResult[]; findings: Findings; passed: boolean }> {
  const findings: Findings = {};
  const results: StageResult[] = [];
  let passed = true;
  for (const checker of list) {
    let outcome;
    try {
      outcome = await checker.check(target, env, findings);
    } catch (e) {
      outcome = { passed: false, detail: `checker failed: ${(e as Error).message}`, latencyMs: null };
    }
    results.push({ checker_name: checker.name, stage: checker.stage, passed: outcome.passed, latency_ms: outcome.latencyMs ?? null, detail: outcome.detail });
    if (!outcome.passed) {
      if (ESSENTIAL.has(checker.name)) passed = false;
      break;
    }
  }
  const essentialSeen = list.filter((c) => ESSENTIAL.has(c.name)).every((c) => results.some((r) => r.checker_name === c.name && r.passed));
  return { results, findings, passed: passed && essentialSeen };
}
