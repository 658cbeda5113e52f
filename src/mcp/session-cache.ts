/** Sessions bought in this MCP process: what later tools need without asking (token, rotation link, credentials). */
export interface CachedSession {
  id: string;
  sessionToken: string;
  rotationUrl: string | null;
  proxy: { host: string; httpPort: number; socksPort: number; username: string; password: string } | null;
  expiresAt: string;
  country: string;
}

export class SessionCache {
  private readonly sessions = new Map<string, CachedSession>();
  private last: string | null = null;
  add(s: CachedSession) { this.sessions.set(s.id, s); this.last = s.id; }
  get(id?: string): CachedSession | undefined { return this.sessions.get(id ?? this.last ?? ''); }
  all(): CachedSession[] { return [...this.sessions.values()]; }
}
