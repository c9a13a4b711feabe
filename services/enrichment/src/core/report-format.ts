// Number, time and ASN formats shared by the report's text, CSV and SVG renderings.

export const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
export const fmt = (n: number, digits = 2) => n.toFixed(digits);
export const asnText = (asn: number | null) => (asn === null ? '??' : `AS${asn}`);
