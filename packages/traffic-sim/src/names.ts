import { type Rng } from './rng';

/** Mirai's rand_alphastr alphabet (mirai/bot/rand.c): no x, y, z or 9. */
export const MIRAI_ALPHABET = 'abcdefghijklmnopqrstuvw012345678';
/** Mirai's hard-coded fallback resolvers (mirai/bot/attack_udp.c). */
export const MIRAI_DEFAULT_RESOLVERS = ['8.8.8.8', '74.82.42.42', '64.6.64.6', '4.2.2.2'] as const;
export const PUBLIC_RESOLVERS = [
  '8.8.8.8',
  '8.8.4.4',
  '1.1.1.1',
  '1.0.0.1',
  '9.9.9.9',
  '208.67.222.222',
  '2001:4860:4860::8888',
  '2606:4700:4700::1111',
] as const;
export const HEX = '0123456789abcdef';
export const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** flamethrower randomlabel uses [0-9A-Za-z-_]; DNS names reach us lower-cased. */
export const RANDOMLABEL_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-_';

/** Host labels real zones use; the benign vocabulary is built from these. */
export const HOST_WORDS = [
  'www',
  'mail',
  'api',
  'cdn',
  'static',
  'img',
  'm',
  'shop',
  'blog',
  'login',
  'auth',
  'app',
  'smtp',
  'imap',
  'vpn',
  'portal',
  'support',
  'help',
  'docs',
  'dev',
  'staging',
  'media',
  'assets',
  'news',
  'store',
  'pay',
  'checkout',
  'search',
  'status',
  'admin',
  'cloud',
  'web',
  'ftp',
  'ns1',
  'ns2',
  'mx',
  'autodiscover',
  'calendar',
  'files',
  'video',
  'live',
  'chat',
  'forum',
  'wiki',
  'git',
  'ci',
  'metrics',
  'track',
  'ads',
  'secure',
  'account',
  'my',
] as const;
export const REGIONS = ['eu', 'us', 'ap', 'west', 'east', 'north', 'south', 'central'] as const;

/** Dictionary-attack vocabulary: real words give low character entropy yet never-seen names. */
export const DICTIONARY_WORDS = [
  'apple',
  'river',
  'stone',
  'cloud',
  'tiger',
  'green',
  'house',
  'light',
  'music',
  'paper',
  'table',
  'water',
  'window',
  'garden',
  'silver',
  'forest',
  'rocket',
  'planet',
  'dragon',
  'summer',
  'winter',
  'yellow',
  'orange',
  'purple',
  'castle',
  'bridge',
  'mountain',
  'ocean',
  'coffee',
  'butter',
  'candle',
  'doctor',
  'engine',
  'falcon',
  'guitar',
  'harbor',
  'island',
  'jacket',
  'kitten',
  'ladder',
  'marble',
  'needle',
  'oyster',
  'pepper',
  'quartz',
  'rabbit',
  'saddle',
  'tunnel',
  'velvet',
  'wallet',
  'zebra',
  'anchor',
  'basket',
  'cotton',
  'desert',
  'empire',
  'finger',
  'golden',
  'hammer',
  'insect',
  'jungle',
  'kernel',
  'lemon',
  'meadow',
  'nickel',
  'office',
  'pillow',
  'quiver',
  'ribbon',
  'shadow',
  'thunder',
  'umbrella',
  'valley',
  'whisper',
  'yogurt',
  'blue',
  'red',
  'fast',
  'cold',
  'warm',
  'dark',
  'bright',
  'happy',
] as const;

/**
 * Words of the public subdomain-enumeration lists (the kind scraped or brute-forced name lists
 * are built from): some exist in most zones (www, mail), most do not.
 */
export const SCRAPED_WORDS = [
  'webmail',
  'remote',
  'owa',
  'test',
  'beta',
  'old',
  'new',
  'backup',
  'intranet',
  'extranet',
  'sip',
  'lync',
  'exchange',
  'pop',
  'pop3',
  'sftp',
  'cpanel',
  'whm',
  'webdisk',
  'autoconfig',
  'gateway',
  'proxy',
  'firewall',
  'router',
  'server',
  'host',
  'db',
  'sql',
  'mysql',
  'ldap',
  'jenkins',
  'jira',
  'confluence',
  'crm',
  'erp',
  'hr',
  'intra',
  'demo',
  'stage',
  'uat',
  'qa',
  'prod',
  'preprod',
  'sandbox',
  'mobile',
  'ssl',
  'download',
  'upload',
  'share',
  'monitor',
  'nagios',
  'zabbix',
  'grafana',
  'kibana',
  'vault',
  'consul',
  'k8s',
  'docker',
  'registry',
  's3',
  'archive',
  'legacy',
  'owncloud',
  'webdav',
  'mdm',
  'sso',
  'idp',
  'radius',
  'citrix',
  'rdp',
] as const;

const TLDS = ['com', 'net', 'org', 'de', 'co.uk', 'io', 'fr', 'nl', 'com.br', 'jp'] as const;
const ZONE_STEMS = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'vandelay',
  'stark',
  'wayne',
  'wonka',
  'tyrell',
  'cyberdyne',
  'soylent',
  'aperture',
  'gringotts',
  'oceanic',
  'massive',
  'monarch',
] as const;

/** Deterministic realistic zone names: zone i is always the same name for a given index. */
export function zoneName(index: number): string {
  const stem = ZONE_STEMS[index % ZONE_STEMS.length]!;
  const round = Math.floor(index / ZONE_STEMS.length);
  const tld = TLDS[(index * 7 + round) % TLDS.length]!;
  return round === 0 ? `${stem}.${tld}` : `${stem}-${round}.${tld}`;
}

/** A zone's hostname vocabulary: words, word-region, numbered servers. */
export function hostVocabulary(rng: Rng, size: number): string[] {
  const names = new Set<string>(['www', 'mail', 'api', 'cdn', 'm']);
  while (names.size < size) {
    const r = rng.next();
    const word = rng.pick(HOST_WORDS);
    if (r < 0.45) names.add(word);
    else if (r < 0.7) names.add(`${word}-${rng.pick(REGIONS)}`);
    else if (r < 0.85) names.add(`${word}${rng.int(1, 40)}`);
    else names.add(`${word}.${rng.pick(REGIONS)}`);
  }
  return [...names];
}

/** An IPv4 address inside a pseudo ISP prefix chosen by `prefixIndex`. */
export function ispResolver(rng: Rng, prefixIndex: number): string {
  const a = 24 + ((prefixIndex * 37) % 180);
  const b = (prefixIndex * 11) % 256;
  return `${a}.${b}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** A pool of `count` distinct resolver addresses (some IPv6), reproducible from the rng. */
export function resolverPool(rng: Rng, count: number, ipv6Share = 0.1): string[] {
  const pool = new Set<string>();
  while (pool.size < count) {
    if (rng.next() < ipv6Share) {
      pool.add(
        `2a0${rng.int(0, 9)}:${rng.int(0, 0xffff).toString(16)}:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`,
      );
    } else {
      pool.add(ispResolver(rng, rng.int(0, 400)));
    }
  }
  return [...pool];
}

/**
 * `size` distinct dictionary-word names (two or three words, sometimes a number): the small,
 * fixed vocabulary of a word-list flood, whose names therefore repeat.
 */
export function wordlistNames(rng: Rng, size: number): string[] {
  if (size > 100_000) throw new RangeError(`wordlist vocabulary ${size} is above 100000`);
  const names = new Set<string>();
  while (names.size < size) {
    const w1 = rng.pick(DICTIONARY_WORDS);
    const w2 = rng.pick(DICTIONARY_WORDS);
    const r = rng.next();
    if (r < 0.4) names.add(`${w1}${w2}`);
    else if (r < 0.7) names.add(`${w1}-${w2}`);
    else if (r < 0.9) names.add(`${w1}${w2}${rng.int(1, 99)}`);
    else names.add(`${w1}-${w2}-${rng.pick(DICTIONARY_WORDS)}`);
  }
  return [...names];
}

/**
 * `size` distinct scraped-looking host names, the order a replayed list is walked in: host and
 * enumeration words, numbered, hyphenated with a region or environment, or one level deeper.
 * Common ones (www, mail, api …) exist in real zones; the rest are NXDOMAIN.
 */
export function scrapedNames(rng: Rng, size: number): string[] {
  if (size > 20_000) throw new RangeError(`replay list of ${size} names is above 20000`);
  const words: readonly string[] = [...HOST_WORDS, ...SCRAPED_WORDS];
  const names = new Set<string>();
  while (names.size < size) {
    const word = rng.pick(words);
    const r = rng.next();
    if (r < 0.2) names.add(word);
    else if (r < 0.45) names.add(`${word}${rng.int(1, 30)}`);
    else if (r < 0.65) names.add(`${word}-${rng.pick(REGIONS)}`);
    else if (r < 0.85) names.add(`${word}-${rng.pick(words)}`);
    else names.add(`${word}.${rng.pick(words)}`);
  }
  return [...names];
}

/**
 * `size` distinct new host names of a deployment: service words with a region, an environment
 * or a number, the way a rollout names its hosts.
 */
export function deployNames(rng: Rng, size: number): string[] {
  if (size > 20_000) throw new RangeError(`deployment of ${size} hosts is above 20000`);
  const names = new Set<string>();
  const envs = ['prod', 'stage', 'edge', 'app', 'svc'];
  while (names.size < size) {
    const word = rng.pick(HOST_WORDS);
    const r = rng.next();
    if (r < 0.4) names.add(`${word}-${rng.pick(REGIONS)}${rng.int(1, 9)}`);
    else if (r < 0.7) names.add(`${word}-${rng.pick(envs)}-${rng.int(1, 99)}`);
    else names.add(`${rng.pick(envs)}${rng.int(1, 999)}.${word}`);
  }
  return [...names];
}
