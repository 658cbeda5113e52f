const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

/** ISO 3166-1 alpha-2 code → English name, or null when it is not a country code. */
export function countryName(code: string): string | null {
  if (!/^[A-Z]{2}$/.test(code)) return null;
  // Intl also knows a few non-country regions (EU, UN, ZZ, XK…): treat them as unknown
  if (['EU', 'EZ', 'UN', 'ZZ', 'QO', 'XA', 'XB'].includes(code)) return null;
  return regionNames.of(code) ?? null;
}
