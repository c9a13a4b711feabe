import { type EnrichmentBlock } from '@sluice/contracts';
import { buildReport } from './report';
import { type ResolverAggregate } from './report-model';
import { renderText } from './report-render';
import { renderSvg } from './report-svg';

/**
 * Issue 14, Security: attacker-chosen text (query names, and the zone and AS names around them)
 * in the report's SVG, which a browser renders and would run script from.
 */
const HOSTILE = [
  '<script>alert(1)</script>.victim.example',
  '"><img src=x onerror=alert(1)>.victim.example',
  "'><svg onload=alert(1)>.victim.example",
  'a\\"b\\\\<c>.victim.example',
  '\u202eelpmaxe\u2028<b>\u0000.victim.example',
  ']]><!--<script>x</script>--><![CDATA[.victim.example',
];

const block = (asOrg: string): EnrichmentBlock => ({
  asn: 64500,
  asOrg,
  prefix: '192.0.2.0/24',
  country: 'ZZ',
  resolverKind: 'isp',
  resolverOperator: null,
  miraiDefaultOperator: null,
});

const rows: ResolverAggregate[] = HOSTILE.map((name, i) => ({
  resolver: `192.0.2.${i + 1}`,
  attackQueries: 100 * (i + 1),
  totalQueries: 100 * (i + 1),
  activeMs: 10_000,
  firstSeen: 1_000,
  lastSeen: 11_000,
  peakQps: 10 * (i + 1),
  enrichment: block(name),
  evidence: [{ ts: 1_500, resolver: `192.0.2.${i + 1}`, qname: name }],
}));

/** The elements the charts draw; anything else in the output came from the data. */
const DRAWN = new Set(['svg', 'rect', 'text', 'title', 'line', 'g', 'path', 'tspan']);

describe('report SVG with hostile names', () => {
  const report = buildReport(rows, {
    scope: { kind: 'zone', zone: HOSTILE[0]!, from: 0, to: 60_000 },
    dataSources: HOSTILE,
  });

  it.each(['countries', 'asns', 'qps'] as const)(
    '%s: only drawn elements, every name escaped',
    (chart) => {
      const svg = renderSvg(report, chart);
      const tags = [...svg.matchAll(/<\/?([A-Za-z][\w:-]*)/g)].map((m) => m[1]!.toLowerCase());
      expect(tags.filter((t) => !DRAWN.has(t))).toEqual([]);
      expect(svg).not.toMatch(/<!|<\?|]]>/);
      // inside tags (text content dropped): no event handler, every value double-quoted
      const markup = svg.replace(/>[^<]*</g, '><');
      expect(markup).not.toMatch(/\son\w+=/i);
      for (const attr of markup.matchAll(/\s[\w:-]+=("[^"]*"|[^\s>]+)/g))
        expect(attr[1]!.startsWith('"')).toBe(true);
      // characters XML 1.0 forbids would make the whole chart unreadable (a parse error)
      // eslint-disable-next-line no-control-regex
      expect(svg).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/);
    },
  );

  it('keeps the names readable (escaped, not dropped) where they are shown', () => {
    const svg = renderSvg(report, 'asns');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.victim.example');
    expect(svg).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.victim.example');
    expect(renderText(report)).toContain('<script>alert(1)</script>.victim.example');
  });
});
