import { DATACENTER_ASNS } from './data/datacenter-asns.ts';
import { MOBILE_CARRIER_ASNS } from './data/mobile-carrier-asns.ts';
import type { IpType } from './events.ts';

/**
 * The earnings tier of an IP, from its ASN and the ASN's organisation (server-side; what the device says
 * about itself is never asked). Curated ASN lists first, then organisation-name keywords; everything else
 * is residential.
 */
const DATACENTER_WORDS = /\b(hosting|host|cloud|data ?cent(er|re)|datacenter|server(s)?|vps|colo(cation)?|dedicated|cdn)\b/i;
const MOBILE_WORDS = /\b(mobile|mobility|wireless|cellular|cellco|lte|gsm)\b/i;

export function ipTypeOf(asn: number | null, org: string | null): IpType {
  if (asn !== null && MOBILE_CARRIER_ASNS.has(asn)) return 'mobile';
  if (asn !== null && DATACENTER_ASNS.has(asn)) return 'datacenter';
  if (org && MOBILE_WORDS.test(org)) return 'mobile';
  if (org && DATACENTER_WORDS.test(org)) return 'datacenter';
  return 'residential';
}
