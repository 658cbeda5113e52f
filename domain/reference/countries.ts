import { createHash } from 'node:crypto';

/**
 * ISO 3166-1 reference data for the account API (seed 002's country objects): alpha-2, alpha-3 and the
 * international dialling code. Names come from Intl (domain/fleet/countries.ts).
 * Ids are derived from the codes, so they are the same on every rebuild, restart and node.
 */
const TABLE = 'AD:AND:376 AE:ARE:971 AF:AFG:93 AG:ATG:1268 AI:AIA:1264 AL:ALB:355 AM:ARM:374 AO:AGO:244 AR:ARG:54 AS:ASM:1684 AT:AUT:43 AU:AUS:61 AW:ABW:297 AZ:AZE:994 '
  + 'BA:BIH:387 BB:BRB:1246 BD:BGD:880 BE:BEL:32 BF:BFA:226 BG:BGR:359 BH:BHR:973 BI:BDI:257 BJ:BEN:229 BM:BMU:1441 BN:BRN:673 BO:BOL:591 BR:BRA:55 BS:BHS:1242 BT:BTN:975 BW:BWA:267 BY:BLR:375 BZ:BLZ:501 '
  + 'CA:CAN:1 CD:COD:243 CF:CAF:236 CG:COG:242 CH:CHE:41 CI:CIV:225 CL:CHL:56 CM:CMR:237 CN:CHN:86 CO:COL:57 CR:CRI:506 CU:CUB:53 CV:CPV:238 CY:CYP:357 CZ:CZE:420 '
  + 'DE:DEU:49 DJ:DJI:253 DK:DNK:45 DM:DMA:1767 DO:DOM:1809 DZ:DZA:213 EC:ECU:593 EE:EST:372 EG:EGY:20 ER:ERI:291 ES:ESP:34 ET:ETH:251 FI:FIN:358 FJ:FJI:679 FO:FRO:298 FR:FRA:33 '
  + 'GA:GAB:241 GB:GBR:44 GD:GRD:1473 GE:GEO:995 GF:GUF:594 GH:GHA:233 GI:GIB:350 GL:GRL:299 GM:GMB:220 GN:GIN:224 GP:GLP:590 GQ:GNQ:240 GR:GRC:30 GT:GTM:502 GU:GUM:1671 GW:GNB:245 GY:GUY:592 '
  + 'HK:HKG:852 HN:HND:504 HR:HRV:385 HT:HTI:509 HU:HUN:36 ID:IDN:62 IE:IRL:353 IL:ISR:972 IN:IND:91 IQ:IRQ:964 IR:IRN:98 IS:ISL:354 IT:ITA:39 JM:JAM:1876 JO:JOR:962 JP:JPN:81 '
  + 'KE:KEN:254 KG:KGZ:996 KH:KHM:855 KM:COM:269 KN:KNA:1869 KR:KOR:82 KW:KWT:965 KY:CYM:1345 KZ:KAZ:7 LA:LAO:856 LB:LBN:961 LC:LCA:1758 LI:LIE:423 LK:LKA:94 LR:LBR:231 LS:LSO:266 LT:LTU:370 LU:LUX:352 LV:LVA:371 LY:LBY:218 '
  + 'MA:MAR:212 MC:MCO:377 MD:MDA:373 ME:MNE:382 MG:MDG:261 MK:MKD:389 ML:MLI:223 MM:MMR:95 MN:MNG:976 MO:MAC:853 MQ:MTQ:596 MR:MRT:222 MT:MLT:356 MU:MUS:230 MV:MDV:960 MW:MWI:265 MX:MEX:52 MY:MYS:60 MZ:MOZ:258 '
  + 'NA:NAM:264 NC:NCL:687 NE:NER:227 NG:NGA:234 NI:NIC:505 NL:NLD:31 NO:NOR:47 NP:NPL:977 NZ:NZL:64 OM:OMN:968 PA:PAN:507 PE:PER:51 PF:PYF:689 PG:PNG:675 PH:PHL:63 PK:PAK:92 PL:POL:48 PR:PRI:1787 PS:PSE:970 PT:PRT:351 PY:PRY:595 '
  + 'QA:QAT:974 RE:REU:262 RO:ROU:40 RS:SRB:381 RU:RUS:7 RW:RWA:250 SA:SAU:966 SC:SYC:248 SD:SDN:249 SE:SWE:46 SG:SGP:65 SI:SVN:386 SK:SVK:421 SL:SLE:232 SM:SMR:378 SN:SEN:221 SO:SOM:252 SR:SUR:597 SV:SLV:503 SY:SYR:963 SZ:SWZ:268 '
  + 'TD:TCD:235 TG:TGO:228 TH:THA:66 TJ:TJK:992 TM:TKM:993 TN:TUN:216 TR:TUR:90 TT:TTO:1868 TW:TWN:886 TZ:TZA:255 UA:UKR:380 UG:UGA:256 US:USA:1 UY:URY:598 UZ:UZB:998 '
  + 'VC:VCT:1784 VE:VEN:58 VG:VGB:1284 VI:VIR:1340 VN:VNM:84 YE:YEM:967 ZA:ZAF:27 ZM:ZMB:260 ZW:ZWE:263';

export interface CountryRef { code: string; iso3: string; phoneCode: string; _id: string }

/** A stable 24-hex id for a reference entity (seed 002's `_id` shape). */
export const referenceId = (kind: 'country' | 'carrier' | 'city', ...parts: string[]) =>
  createHash('sha256').update([kind, ...parts.map((p) => p.toLowerCase())].join('\u0000')).digest('hex').slice(0, 24);

export const COUNTRIES: readonly CountryRef[] = TABLE.split(' ').map((entry) => {
  const [code, iso3, dial] = entry.split(':') as [string, string, string];
  return { code, iso3, phoneCode: `+${dial}`, _id: referenceId('country', code) };
});

const byCode = new Map(COUNTRIES.map((c) => [c.code, c]));
const byId = new Map(COUNTRIES.map((c) => [c._id, c]));

/** An id or an ISO code (alpha-2 or alpha-3, any case) → the country, or null. */
export function resolveCountry(idOrCode: string): CountryRef | null {
  const s = idOrCode.trim();
  if (/^[a-f0-9]{24}$/.test(s)) return byId.get(s) ?? null;
  const upper = s.toUpperCase();
  if (/^[A-Z]{2}$/.test(upper)) return byCode.get(upper) ?? (/^[A-Z]{2}$/.test(upper) ? { code: upper, iso3: upper, phoneCode: '', _id: referenceId('country', upper) } : null);
  if (/^[A-Z]{3}$/.test(upper)) return COUNTRIES.find((c) => c.iso3 === upper) ?? null;
  return null;
}

export const countryRef = (code: string): CountryRef => byCode.get(code.toUpperCase()) ?? { code: code.toUpperCase(), iso3: code.toUpperCase(), phoneCode: '', _id: referenceId('country', code) };
