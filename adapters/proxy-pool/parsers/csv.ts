import { dedupe, parseProxyLine, protocolOf, proxyOf, type SourceParser } from './parser.ts';

/**
 * Comma (or ; / tab) separated with a header row. Columns: ip_column (ip, host, address), port_column
 * (port), protocol_column (protocol, type), username_column, password_column; a single `proxy`
 * column of ip:port works too. Quoted cells ("a,b") are read as one cell.
 */
function cells(line: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

const separatorOf = (header: string) => (['\t', ';', ','].find((s) => header.includes(s)) ?? ',');
const col = (header: string[], configured: string | undefined, names: string[]) =>
  header.findIndex((h) => (configured ? h === configured.toLowerCase() : names.includes(h)));

export const csvParser: SourceParser = {
  name: 'csv',
  supports(content, contentType) {
    const first = content.split(/\r?\n/, 1)[0]?.toLowerCase() ?? '';
    const header = cells(first, separatorOf(first));
    return (contentType?.includes('csv') ?? false) || (header.length > 1 && header.some((h) => ['ip', 'host', 'address', 'proxy'].includes(h)));
  },
  parse(content, { defaultProtocol, options }) {
    const lines = content.split(/\r?\n/).filter((l) => l.trim());
    if (lines.length === 0) return [];
    const sep = separatorOf(lines[0]!);
    const header = cells(lines[0]!.toLowerCase(), sep);
    const ip = col(header, options.ip_column, ['ip', 'host', 'address', 'ip_address']);
    const port = col(header, options.port_column, ['port']);
    const proto = col(header, options.protocol_column, ['protocol', 'type']);
    const user = col(header, options.username_column, ['username', 'user']);
    const pass = col(header, options.password_column, ['password', 'pass']);
    const joined = col(header, undefined, ['proxy']);
    return dedupe(lines.slice(1).map((l) => {
      const c = cells(l, sep);
      const protocol = protocolOf(proto >= 0 ? c[proto] : undefined, defaultProtocol);
      if (ip < 0 && joined >= 0) return parseProxyLine(c[joined] ?? '', protocol);
      return proxyOf(c[ip], c[port], protocol, user >= 0 ? c[user] : null, pass >= 0 ? c[pass] : null);
    }));
  },
};
