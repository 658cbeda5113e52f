/**
 * Mobile-carrier ASNs (networks whose address space is, wholly or mostly, handed to phones and mobile
 * routers): the premium earnings tier. Curated by hand from the carriers' public registrations (PeeringDB
 * entries and RIR whois, as listed on bgp.he.net). Carriers that announce fixed and mobile space from one
 * ASN are left out on purpose (they classify as residential) rather than over-paying fixed lines;
 * organisation names with "mobile/wireless/cellular" still count as mobile (domain/peers/classify.ts).
 */
export const MOBILE_CARRIER_ASNS: ReadonlySet<number> = new Set([
  21928, // T-Mobile USA
  20057, // AT&T Mobility
  6167, 22394, // Verizon Wireless (Cellco Partnership)
  10507, // Sprint PCS
  25135, // Vodafone UK
  12576, // EE (UK)
  35228, // O2 UK (Telefonica UK)
  3209, // Vodafone Germany
  6805, // Telefonica Germany (O2)
  12430, // Vodafone Spain
  30722, // Vodafone Italy
  12912, // T-Mobile Polska
  39603, // Play (P4, Poland)
  8374, // Plus (Polkomtel, Poland)
  16135, // Turkcell
  15924, // Vodafone Turkey
  55836, // Reliance Jio
  45609, // Bharti Airtel (mobile)
  9605, // NTT Docomo
  26615, // TIM Brasil
  132199, // Globe Telecom (Philippines)
  10139, // Smart Communications (Philippines)
  23693, // Telkomsel
  33771, // Safaricom
  29465, // MTN Nigeria
]);
