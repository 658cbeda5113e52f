import { dedupe, parseProxyLine, protocolOf, proxyOf, type ParsedProxy, type SourceParser } from './parser.ts';

/**
 * Rows of HTML tables (the free-proxy-list shape): columns found from <th> headers (IP Address, Port,
 * Protocol/Type, Https = yes|no), else the first two cells are ip and port, or one cell is ip:port.
 */
const text = (html: string) => html.replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&').trim();
const rowsOf = (table: string) => [...table.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/gi)].map((m) => m[1]!);
const cellsOf = (row: string, tag: string) => [...row.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, 'gi'))].map((m) => text(m[1]!));

export const htmlTableParser: SourceParser = {
  name: 'html_table',
  supports(content, contentType) {
    return /<table[\s>]/i.test(content) && (contentType === null || contentType.includes('html') || /<tr[\s>]/i.test(content));
  },
  parse(content, { defaultProtocol }) {
    const out: Array<ParsedProxy | null> = [];
    for (const table of content.matchAll(/<table[\s\S]*?<\/table>/gi)) {
      const rows = rowsOf(table[0]);
      let header: string[] = [];
      for (const row of rows) {
        const th = cellsOf(row, 'th').map((h) => h.toLowerCase());
        if (th.length) { header = th; continue; }
        const td = cellsOf(row, 'td');
        if (td.length === 0) continue;
        const at = (names: string[]) => header.findIndex((h) => names.some((n) => h.includes(n)));
        const ip = at(['ip', 'address', 'host']);
        const port = at(['port']);
        const proto = at(['protocol', 'type']);
        const https = header.findIndex((h) => h === 'https');
        let protocol = protocolOf(proto >= 0 ? td[proto] : undefined, defaultProtocol);
        if (proto < 0 && https >= 0 && td[https]?.toLowerCase() === 'yes') protocol = 'https';
        if (ip >= 0 && port >= 0) out.push(proxyOf(td[ip], td[port], protocol));
        else out.push(proxyOf(td[0], td[1], protocol) ?? parseProxyLine(td[0] ?? '', protocol));
      }
    }
    return dedupe(out);
  },
};
