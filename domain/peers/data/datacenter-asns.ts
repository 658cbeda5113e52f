/**
 * Datacenter and cloud ASNs: the base earnings tier. Curated by hand from the networks' public
 * registrations (PeeringDB entries and RIR whois, as listed on bgp.he.net); an ASN missing here is still
 * caught by the organisation-name keywords in domain/peers/classify.ts. Source of the ASN → organisation
 * data itself: the bundled @ip-location-db/asn CSV (RouteViews + DB-IP, CC BY 4.0).
 */
export const DATACENTER_ASNS: ReadonlySet<number> = new Set([
  16509, 14618, // Amazon (AWS)
  15169, 396982, 19527, // Google, Google Cloud
  8075, 8068, 8069, // Microsoft (Azure)
  31898, // Oracle Cloud
  36351, // IBM Cloud (SoftLayer)
  24940, 213230, // Hetzner
  16276, 35540, // OVH
  14061, 62567, // DigitalOcean
  20473, // Vultr (Choopa)
  63949, // Linode (Akamai)
  20940, 16625, // Akamai
  13335, // Cloudflare
  54113, // Fastly
  45102, 37963, // Alibaba Cloud
  132203, 45090, // Tencent Cloud
  135377, // UCloud
  12876, // Scaleway (Online SAS)
  51167, // Contabo
  197540, // netcup
  8560, // IONOS
  9009, // M247
  60068, // Datacamp / CDN77
  36352, // ColoCrossing
  46606, // Unified Layer
  26496, // GoDaddy
  29802, // Hivelocity
  32244, // Liquid Web
  40676, // Psychz Networks
  8100, // QuadraNet
  19318, // Interserver
  21859, // Zenlayer
  35916, // Multacom
]);
