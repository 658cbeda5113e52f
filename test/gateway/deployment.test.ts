import { expect } from 'chai';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** Every port the service listens on by default: the config's `…PORT` settings, minus the ones only shown to customers. */
function listenerPorts(): Map<string, number> {
  const config = loadConfig({}) as unknown as Record<string, unknown>;
  const ports = new Map<string, number>();
  for (const [key, value] of Object.entries(config)) {
    if (/(^|_)PORT$/.test(key) && !/_PUBLIC_/.test(key) && typeof value === 'number' && value > 0) ports.set(key, value);
  }
  return ports;
}

/** Container ports the compose file publishes for a service ("7000:7000", "127.0.0.1:7000:7000/tcp", long form). */
function published(service: { ports?: unknown[] }): Set<number> {
  const out = new Set<number>();
  for (const p of service.ports ?? []) {
    if (typeof p === 'object' && p !== null && 'target' in p) out.add(Number((p as { target: unknown }).target));
    else {
      const container = String(p).split('/')[0]!.split(':').at(-1)!;
      const [from, to = from] = container.split('-').map(Number);
      for (let n = from!; n <= to!; n++) out.add(n);
    }
  }
  return out;
}

/** Top-level paths the service needs at run time: relative imports from src/main.ts, followed, and files read beside modules. */
function neededPaths(): Set<string> {
  const seen = new Set<string>();
  const tops = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    tops.add(path.relative(root, file).split(path.sep)[0]!);
    const text = readFileSync(file, 'utf8');
    const dir = path.dirname(file);
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.resolve(dir, m[1]!);
      if (existsSync(target) && statSync(target).isFile()) visit(target);
    }
    // files a module reads beside itself: new URL('../package.json', import.meta.url)
    for (const m of text.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)) {
      const top = path.relative(root, path.resolve(dir, m[1]!)).split(path.sep)[0]!;
      if (top !== '') tops.add(top); // '' is the repository root itself (a base for other paths)
    }
  };
  visit(path.join(root, 'src/main.ts'));
  return tops;
}

/** What the Dockerfile copies into the image (COPY sources, by their top-level path). */
function copied(dockerfile: string): Set<string> {
  const out = new Set<string>();
  for (const line of dockerfile.split('\n')) {
    const m = /^\s*COPY\s+(?!--from)(?:--\S+\s+)*(.+)$/i.exec(line);
    if (!m) continue;
    const parts = m[1]!.trim().split(/\s+/);
    for (const source of parts.slice(0, -1)) out.add(source.replace(/^\.\//, '').replace(/\/$/, '').split('/')[0]!);
  }
  return out;
}

/**
 * #8 item 11: the production shape as shipped. `docker compose up` must give a service whose every
 * listener is reachable from outside the container, from an image that holds every source folder
 * the service imports. No Docker engine runs here, so the files themselves are checked.
 */
describe('deployment files (#8)', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, { build?: unknown; ports?: unknown[] }> };
  const service = Object.values(compose.services).find((s) => s.build !== undefined)!;
  const dockerfile = read('Dockerfile');

  it('docker-compose publishes every port the service listens on by default', () => {
    expect(service, 'the service built from the Dockerfile').to.not.equal(undefined);
    const ports = listenerPorts();
    expect([...ports.keys()]).to.include.members(['PORT', 'GATEWAY_HTTP_PORT', 'GATEWAY_SOCKS_PORT', 'GATEWAY_HEALTH_PORT']);
    const open = published(service);
    const missing = [...ports].filter(([, port]) => !open.has(port)).map(([key, port]) => `${key}=${port}`);
    expect(missing, 'listeners not published in docker-compose.yml').to.deep.equal([]);
  });

  it('the Dockerfile exposes the same ports', () => {
    const exposed = new Set([...dockerfile.matchAll(/^\s*EXPOSE\s+(.+)$/gim)].flatMap((m) => m[1]!.trim().split(/\s+/).map((p) => Number(p.split('/')[0]))));
    const missing = [...listenerPorts()].filter(([, port]) => !exposed.has(port)).map(([key, port]) => `${key}=${port}`);
    expect(missing, 'listeners not EXPOSEd in the Dockerfile').to.deep.equal([]);
  });

  it('the image holds every source folder (and file) the service imports or reads', () => {
    const needed = neededPaths();
    expect([...needed]).to.include.members(['src', 'domain', 'projections', 'adapters']);
    const inImage = copied(dockerfile);
    const missing = [...needed].filter((p) => !inImage.has(p) && p !== 'node_modules');
    expect(missing, 'imported but not copied into the image').to.deep.equal([]);
  });
});
