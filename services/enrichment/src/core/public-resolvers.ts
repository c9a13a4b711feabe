import { formatIp, parseIp } from '@sluice/dns';

export interface PublicResolverOperator {
  /** Name shown in reports and carried in the enrichment block's resolverOperator. */
  operator: string;
  /** Service (anycast) addresses clients send their queries to, IPv4 and IPv6. */
  addresses: readonly string[];
  /**
   * ASNs that originate the operator's resolver egress. Authoritative servers usually see
   * the egress address, not 8.8.8.8 itself, so the report attributes traffic by these too.
   * Listed only where the network is the resolver operator's own.
   */
  asns: readonly number[];
}

/**
 * Mirai's four hard-coded fallbacks (mirai/bot/attack_udp.c, `get_dns_resolver`): the bot
 * uses them when /etc/resolv.conf yields nothing. In the Dyn sample their operators' ASNs
 * carried 24% of the attack.
 */
export const MIRAI_DEFAULT_RESOLVERS: ReadonlyArray<{
  address: string;
  operator: string;
  asn: number;
}> = [
  { address: '8.8.8.8', operator: 'Google Public DNS', asn: 15169 },
  { address: '74.82.42.42', operator: 'Hurricane Electric', asn: 6939 },
  { address: '64.6.64.6', operator: 'Neustar UltraDNS Public (formerly Verisign)', asn: 19905 },
  { address: '4.2.2.2', operator: 'Level 3 (Lumen)', asn: 3356 },
];

/** Well-known public recursive resolvers. Sources: each operator's own setup pages. */
export const PUBLIC_RESOLVERS: readonly PublicResolverOperator[] = [
  {
    operator: 'Google Public DNS',
    addresses: ['8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844'],
    asns: [15169],
  },
  {
    operator: 'Cloudflare 1.1.1.1',
    addresses: [
      '1.1.1.1',
      '1.0.0.1',
      '1.1.1.2',
      '1.0.0.2',
      '1.1.1.3',
      '1.0.0.3',
      '2606:4700:4700::1111',
      '2606:4700:4700::1001',
      '2606:4700:4700::1112',
      '2606:4700:4700::1002',
      '2606:4700:4700::1113',
      '2606:4700:4700::1003',
    ],
    asns: [13335],
  },
  {
    operator: 'Quad9',
    addresses: [
      '9.9.9.9',
      '149.112.112.112',
      '9.9.9.10',
      '149.112.112.10',
      '9.9.9.11',
      '149.112.112.11',
      '2620:fe::fe',
      '2620:fe::9',
      '2620:fe::10',
      '2620:fe::fe:10',
      '2620:fe::11',
      '2620:fe::fe:11',
    ],
    asns: [19281],
  },
  {
    operator: 'OpenDNS (Cisco Umbrella)',
    addresses: [
      '208.67.222.222',
      '208.67.220.220',
      '208.67.222.123',
      '208.67.220.123',
      '2620:119:35::35',
      '2620:119:53::53',
      '2620:119:35::123',
      '2620:119:53::123',
      '2620:0:ccc::2',
      '2620:0:ccd::2',
    ],
    asns: [36692],
  },
  {
    operator: 'Hurricane Electric',
    addresses: ['74.82.42.42', '2001:470:20::2'],
    // A transit network: most of its address space is other people's resolvers.
    asns: [],
  },
  {
    operator: 'Level 3 (Lumen)',
    addresses: [
      '4.2.2.1',
      '4.2.2.2',
      '4.2.2.3',
      '4.2.2.4',
      '4.2.2.5',
      '4.2.2.6',
      '209.244.0.3',
      '209.244.0.4',
    ],
    // A transit network, like Hurricane Electric.
    asns: [],
  },
  {
    operator: 'Neustar UltraDNS Public (formerly Verisign)',
    addresses: [
      '64.6.64.6',
      '64.6.65.6',
      '156.154.70.1',
      '156.154.71.1',
      '2620:74:1b::1:1',
      '2620:74:1c::2:2',
      '2610:a1:1018::1',
      '2610:a1:1019::1',
    ],
    asns: [19905],
  },
  {
    operator: 'Yandex.DNS',
    addresses: [
      '77.88.8.8',
      '77.88.8.1',
      '77.88.8.88',
      '77.88.8.2',
      '77.88.8.7',
      '77.88.8.3',
      '2a02:6b8::feed:ff',
      '2a02:6b8:0:1::feed:ff',
      '2a02:6b8::feed:bad',
      '2a02:6b8:0:1::feed:bad',
      '2a02:6b8::feed:a11',
      '2a02:6b8:0:1::feed:a11',
    ],
    // AS13238 also hosts Yandex's other services.
    asns: [],
  },
  {
    operator: '114DNS',
    addresses: [
      '114.114.114.114',
      '114.114.115.115',
      '114.114.114.119',
      '114.114.115.119',
      '114.114.114.110',
      '114.114.115.110',
    ],
    asns: [],
  },
  {
    operator: 'AliDNS',
    addresses: ['223.5.5.5', '223.6.6.6', '2400:3200::1', '2400:3200:baba::1'],
    asns: [],
  },
  {
    operator: 'DNSPod (Tencent)',
    addresses: ['119.29.29.29', '119.28.28.28', '182.254.116.116', '2402:4e00::', '2402:4e00:1::'],
    asns: [],
  },
  {
    operator: 'Baidu Public DNS',
    addresses: ['180.76.76.76', '2400:da00::6666'],
    asns: [],
  },
  {
    operator: 'AdGuard DNS',
    addresses: [
      '94.140.14.14',
      '94.140.15.15',
      '94.140.14.15',
      '94.140.15.16',
      '94.140.14.140',
      '94.140.14.141',
      '2a10:50c0::ad1:ff',
      '2a10:50c0::ad2:ff',
      '2a10:50c0::bad1:ff',
      '2a10:50c0::bad2:ff',
      '2a10:50c0::1:ff',
      '2a10:50c0::2:ff',
    ],
    asns: [],
  },
  {
    operator: 'CleanBrowsing',
    addresses: [
      '185.228.168.9',
      '185.228.169.9',
      '185.228.168.168',
      '185.228.169.168',
      '185.228.168.10',
      '185.228.169.11',
      '2a0d:2a00:1::2',
      '2a0d:2a00:2::2',
      '2a0d:2a00:1::',
      '2a0d:2a00:2::',
      '2a0d:2a00:1::1',
      '2a0d:2a00:2::1',
    ],
    asns: [],
  },
  {
    operator: 'Comodo Secure DNS',
    addresses: ['8.26.56.26', '8.20.247.20'],
    asns: [],
  },
  {
    operator: 'CNNIC SDNS',
    addresses: ['1.2.4.8', '210.2.4.8'],
    asns: [],
  },
  {
    operator: 'Quad101 (TWNIC)',
    addresses: ['101.101.101.101', '101.102.103.104', '2001:de4::101', '2001:de4::102'],
    asns: [],
  },
  {
    operator: 'DNS.WATCH',
    addresses: [
      '84.200.69.80',
      '84.200.70.40',
      '2001:1608:10:25::1c04:b12f',
      '2001:1608:10:25::9249:d69b',
    ],
    asns: [],
  },
  {
    operator: 'Mullvad DNS',
    addresses: ['194.242.2.2', '2a07:e340::2'],
    asns: [],
  },
  {
    operator: 'NextDNS',
    addresses: ['45.90.28.0', '45.90.30.0', '2a07:a8c0::', '2a07:a8c1::'],
    asns: [],
  },
  {
    operator: 'DNS0.EU',
    addresses: ['193.110.81.0', '185.253.5.0', '2a0f:fc80::', '2a0f:fc81::'],
    asns: [],
  },
  {
    operator: 'Control D',
    addresses: ['76.76.2.0', '76.76.10.0', '2606:1a40::', '2606:1a40:1::'],
    asns: [],
  },
];

export interface ResolverMatch {
  operator: string;
  miraiDefault: boolean;
}

/** Address → operator, built once: lookups are one Map get on the canonical text. */
export class PublicResolverTable {
  private readonly byAddress = new Map<string, ResolverMatch>();
  private readonly byAsn = new Map<number, string>();
  private readonly miraiAsns = new Map<number, string>();

  constructor(
    operators: readonly PublicResolverOperator[] = PUBLIC_RESOLVERS,
    mirai: typeof MIRAI_DEFAULT_RESOLVERS = MIRAI_DEFAULT_RESOLVERS,
  ) {
    const miraiSet = new Set(mirai.map((m) => canonical(m.address)));
    for (const op of operators) {
      for (const address of op.addresses) {
        const key = canonical(address);
        if (this.byAddress.has(key)) throw new Error(`public resolver ${address} listed twice`);
        this.byAddress.set(key, { operator: op.operator, miraiDefault: miraiSet.has(key) });
      }
      for (const asn of op.asns) this.byAsn.set(asn, op.operator);
    }
    for (const m of mirai) {
      const key = canonical(m.address);
      if (!this.byAddress.has(key))
        this.byAddress.set(key, { operator: m.operator, miraiDefault: true });
      this.miraiAsns.set(m.asn, m.operator);
    }
  }

  /** `address` must be canonical text (formatIp of a parsed address). */
  match(address: string): ResolverMatch | null {
    return this.byAddress.get(address) ?? null;
  }

  /** Resolver operator whose own network this ASN is, if any. */
  operatorOfAsn(asn: number): string | null {
    return this.byAsn.get(asn) ?? null;
  }

  /** Operator of a Mirai-default resolver whose network this ASN is, if any. */
  miraiOperatorOfAsn(asn: number): string | null {
    return this.miraiAsns.get(asn) ?? null;
  }

  get size(): number {
    return this.byAddress.size;
  }
}

function canonical(address: string): string {
  const ip = parseIp(address);
  if (!ip) throw new Error(`bad public resolver address ${address}`);
  return formatIp(ip);
}
