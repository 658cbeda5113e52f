import { csvParser } from './csv.ts';
import { htmlTableParser } from './html-table.ts';
import { jsonParser } from './json.ts';
import type { SourceParser } from './parser.ts';
import { plaintextParser } from './plaintext.ts';

/** Every parser plugin, most specific first: auto-detection takes the first whose supports() says yes. */
export const parsers: readonly SourceParser[] = [jsonParser, htmlTableParser, csvParser, plaintextParser];

export const parserNamed = (name: string) => parsers.find((p) => p.name === name);
export const detectParser = (content: string, contentType: string | null) => parsers.find((p) => p.supports(content, contentType));
