import type { ProxyChecker } from './checker.ts';

/** Stage 3: the exit address's country from the bundled offline database. */
export const geoCountryChecker: ProxyChecker = {
  name: 'geo_country', stage: 3, priority: 0,
  async check(target, env, findings) {
    const ip = findings.exitIp ?? target.ip;
    if (!env.geo) return { passed: false, detail: 'no geo database', latencyMs: null };
    const country = env.geo.country(ip);
    if (country) findings.country = country;
    // Private and loopback addresses have no country; that is not a fault of the proxy.
    return { passed: true, detail: country ? `${ip} is in ${country}` : `${ip} has no country in DB-IP`, latencyMs: null };
  },
};
