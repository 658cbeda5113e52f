import { dedupe, parseProxyLine, type SourceParser } from './parser.ts';

/** One proxy per line; blank lines and `#` comments are skipped. */
export const plaintextParser: SourceParser = {
  name: 'plaintext',
  supports(content) {
    const lines = content.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).slice(0, 50);
    return lines.length > 0 && lines.filter((l) => parseProxyLine(l, 'http')).length >= Math.ceil(lines.length / 2);
  },
  parse(content, { defaultProtocol }) {
    return dedupe(content.split(/\r?\n/).map((l) => (l.trim().startsWith('#') ? null : parseProxyLine(l, defaultProtocol))));
  },
};
