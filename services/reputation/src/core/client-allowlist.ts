import { formatIp, networkContains, parseIp, parseNetwork, type Network } from '@sluice/dns';

/**
 * Which client addresses may talk to the policy-zone server (RPZ_XFR_ALLOW): checked before
 * anything else, so a valid TSIG key from elsewhere is refused too. IPv4-mapped IPv6 addresses
 * (a dual-stack socket's view of an IPv4 client) are matched as IPv4.
 */
export class ClientAllowlist {
  private readonly networks: Network[];

  constructor(cidrs: readonly string[]) {
    this.networks = cidrs.map((c) => parseNetwork(c));
  }

  allows(address: string): boolean {
    const ip = parseIp(address.replace(/%.*$/, ''));
    if (ip === null) return false;
    const host = parseNetwork(formatIp(ip));
    return this.networks.some((n) => networkContains(n, host));
  }
}
