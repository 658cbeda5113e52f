import { errorText, type ProxyChecker } from './checker.ts';
import { tcpConnect } from './tunnel.ts';

/** Stage 1: the port accepts a TCP connection. */
export const tcpConnectChecker: ProxyChecker = {
  name: 'tcp_connect', stage: 1, priority: 0,
  async check(target, env, findings) {
    const started = performance.now();
    try {
      const socket = await tcpConnect(target.ip, target.port, env.timeoutMs);
      socket.destroy();
      findings.tcpMs = Math.round((performance.now() - started) * 10) / 10;
      return { passed: true, detail: 'TCP connect OK', latencyMs: findings.tcpMs };
    } catch (e) {
      return { passed: false, detail: `TCP connect failed: ${errorText(e)}`, latencyMs: null };
    }
  },
};
