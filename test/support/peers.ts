import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { FRAME_CLOSE, FRAME_DATA, decodeFrame, encodeFrame } from '../../adapters/relay/frames.ts';

/**
 * Test peers. `SdkLikePeer` speaks the relay protocol the way the Android SDK's RelayConnection does
 * (token subprotocol, device_info with binary-v1, no tunnel_connected, binary frames) but lets a test
 * misbehave on purpose: never send bytes, stall, flood. `startAgentProcess` runs the reference agent.
 */
export type TunnelBehaviour = 'silent' | 'stall' | 'echo';

export class SdkLikePeer {
  readonly messages: Array<{ type: string; payload: any }> = [];
  readonly tunnels: Array<{ sessionId: string; host: string; port: number }> = [];
  closeCode: number | null = null;
  private constructor(readonly ws: WebSocket, public behaviour: TunnelBehaviour) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const f = decodeFrame(data as Buffer);
        if (f && f.type === FRAME_DATA && this.behaviour === 'echo') ws.send(encodeFrame(FRAME_DATA, f.sessionId, f.payload));
        return;
      }
      const m = JSON.parse(data.toString());
      this.messages.push(m);
      if (m.type === 'tunnel_connect') {
        this.tunnels.push(m.payload);
        if (this.behaviour === 'stall') {
          // a few bytes of an answer, then nothing ever again
          ws.send(encodeFrame(FRAME_DATA, m.payload.sessionId, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial')));
        }
      }
    });
  }

  static connect(relayUrl: string, jwt: string, options: { localAddress?: string; country?: string; behaviour?: TunnelBehaviour; deviceInfo?: boolean } = {}): Promise<SdkLikePeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(relayUrl, [`token.${jwt}`], { ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
      const peer = new SdkLikePeer(ws, options.behaviour ?? 'silent');
      ws.once('close', (code) => { peer.closeCode = code; resolve(peer); });
      ws.once('error', reject);
      ws.once('open', () => {
        if (options.deviceInfo === false) return resolve(peer);
        ws.send(JSON.stringify({ type: 'device_info', payload: { country: options.country ?? 'US', carrier: 'Test', model: 'Pixel', osVersion: 'Android 14', currentIp: '', protocol: 'binary-v1', supportsRelayRedirect: true, sdkVersion: '1.3.1' } }));
        const wait = () => (peer.messages.some((m) => m.type === 'connected') ? resolve(peer) : setTimeout(wait, 10));
        wait();
      });
    });
  }

  /** Resolves with the close code (the relay closed us), or null if still open after `ms`. */
  closed(ms = 3000): Promise<number | null> {
    if (this.closeCode !== null) return Promise.resolve(this.closeCode);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), ms);
      this.ws.once('close', (code) => { clearTimeout(t); resolve(code); });
    });
  }

  send(type: string, payload: unknown = {}): void { this.ws.send(JSON.stringify({ type, payload })); }
  closeTunnel(sessionId: string): void { this.ws.send(encodeFrame(FRAME_CLOSE, sessionId)); }
  close(): void { this.ws.terminate(); }
}

export interface AgentProcess {
  child: ChildProcess;
  lines: Array<Record<string, any>>;
  stateFile: string;
  waitFor(msg: string, count?: number, timeoutMs?: number): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

/** `npm run peer -- …` as a child process (node --import tsx scripts/peer.ts), lines of JSON on stdout. */
export function startAgentProcess(args: string[], stateFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'peer-')), 'peer.json')): AgentProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/peer.ts', '--state', stateFile, '--earnings-every', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, any>> = [];
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try { lines.push(JSON.parse(line)); } catch { /* not ours */ }
    }
  });
  child.stderr!.on('data', (d) => { stderr += d; });
  return {
    child, lines, stateFile,
    waitFor(msg, count = 1, timeoutMs = 20_000) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.filter((l) => l.msg === msg);
          if (found.length >= count) return resolve(found[count - 1]!);
          if (child.exitCode !== null) return reject(new Error(`agent exited (${child.exitCode}) before "${msg}": ${stderr.slice(-2000)}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`agent did not log "${msg}" ×${count} in ${timeoutMs} ms; got ${JSON.stringify(lines.map((l) => l.msg))} ${stderr.slice(-1000)}`));
          setTimeout(check, 25);
        };
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
