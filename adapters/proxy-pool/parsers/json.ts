import { dedupe, parseProxyLine, protocolOf, proxyOf, type ParsedProxy, type SourceParser } from './parser.ts';

/**
 * An array of objects (or of "ip:port" strings), at the top or under `list_field` (default: the first
 * array among data / proxies / items / results). Field names: ip_field (ip, host, address), port_field
 * (port), protocol_field (protocol, type), username_field, password_field.
 */
const pick = (o: Record<string, unknown>, configured: string | undefined, defaults: string[]) =>
  configured !== undefined ? o[configured] : defaults.map((k) => o[k]).find((v) => v !== undefined && v !== null);

function listOf(doc: unknown, field: string | undefined): unknown[] | null {
  if (Array.isArray(doc)) return doc;
  if (doc && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    if (field) return Array.isArray(o[field]) ? (o[field] as unknown[]) : null;
    for (const k of ['data', 'proxies', 'items', 'results']) if (Array.isArray(o[k])) return o[k] as unknown[];
  }
  return null;
}

function tryParse(content: string): unknown {
  try { return JSON.parse(content); } catch { return undefined; }
}

export const jsonParser: SourceParser = {
  name: 'json',
  supports(content, contentType) {
    const t = content.trimStart();
    if (!(t.startsWith('[') || t.startsWith('{')) && !contentType?.includes('json')) return false;
    return listOf(tryParse(content), undefined) !== null;
  },
  parse(content, { defaultProtocol, options }) {
    const list = listOf(tryParse(content), options.list_field) ?? [];
    return dedupe(list.map((item): ParsedProxy | null => {
      if (typeof item === 'string') return parseProxyLine(item, defaultProtocol);
      if (!item || typeof item !== 'object') return null;
      const o = item as Record<string, unknown>;
      const protocol = protocolOf(pick(o, options.protocol_field, ['protocol', 'type', 'protocols']) as string, defaultProtocol);
      return proxyOf(pick(o, options.ip_field, ['ip', 'host', 'address', 'ip_address']), pick(o, options.port_field, ['port']), protocol,
        pick(o, options.username_field, ['username', 'user']), pick(o, options.password_field, ['password', 'pass']));
    }));
  },
};
