import { randomBytes } from 'node:crypto';
import type { JudgeEcho } from './checker.ts';
import { getThrough, tcpConnect, readResponse, type ProxyEndpoint, type ProxyMode } from './tunnel.ts';

/** Asks the judge through a proxy; the nonce proves the answer is the judge's and not the proxy's. */
export async function askJudge(proxy: ProxyEndpoint, mode: ProxyMode, judgeUrl: URL, timeoutMs: number): Promise<JudgeEcho> {
  const nonce = randomBytes(8).toString('hex');
  const url = new URL(judgeUrl);
  url.searchParams.set('nonce', nonce);
  const answer = await getThrough(proxy, mode, url, timeoutMs);
  return echoOf(answer.status, answer.body, nonce);
}

/** The judge called directly: the address it sees is ours. */
export async function askJudgeDirectly(judgeUrl: URL, timeoutMs: number): Promise<JudgeEcho> {
  const nonce = randomBytes(8).toString('hex');
  const url = new URL(judgeUrl);
  url.searchParams.set('nonce', nonce);
  const socket = await tcpConnect(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 80), timeoutMs);
  try {
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    const answer = await readResponse(socket, timeoutMs);
    return echoOf(answer.status, answer.body, nonce);
  } finally {
    socket.destroy();
  }
}

function echoOf(status: number, body: string, nonce: string): JudgeEcho {
  if (status !== 200) throw new Error(`judge answered ${status}`);
  let echo: JudgeEcho;
  try { echo = JSON.parse(body) as JudgeEcho; } catch { throw new Error('the answer is not the judge\'s'); }
  if (echo?.nonce !== nonce || typeof echo.remote_address !== 'string') throw new Error('the answer is not the judge\'s');
  return echo;
}
