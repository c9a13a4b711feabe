import { type BlockPolicy } from '../core/policy';
import { type BlocklistRepository } from '../redis/blocklist.repository';
import { type ReputationRepository } from '../redis/reputation.repository';
import { FeedService, queryParams } from './feed.service';

/** Repositories that must not be reached: a bad request is answered before any Redis call. */
const unreachable = new Proxy(
  {},
  {
    get: (_t, name) => () => {
      throw new Error(`Redis reached for ${String(name)}`);
    },
  },
);

describe('FeedService against hostile query strings (http-feed fuzz findings)', () => {
  const feed = new FeedService(
    unreachable as BlocklistRepository,
    unreachable as ReputationRepository,
    {} as BlockPolicy,
    () => null,
    () => 0,
  );

  it('answers repeated and bracketed parameters with 400 (they reached string methods: 500)', () => {
    // GET /v1/decisions/stream?scopes=true&scopes=true — express hands over an array.
    expect(queryParams({ scopes: ['true', 'true'] })).toMatchObject({ error: { status: 400 } });
    // ?zone[toString]=x — an object.
    expect(queryParams({ zone: { toString: 'x' } })).toMatchObject({ error: { status: 400 } });
    expect(queryParams({ format: 'json', startup: 'true' })).toEqual({
      params: { format: 'json', startup: 'true' },
    });
  });

  it.each(['xxxxxxxxxx', '1-2-3', '0', '-1-0', '18446744073709551616-0', '1-18446744073709551615'])(
    'answers cursor=%s with 400 before asking Redis (Redis rejected it: 500)',
    async (cursor) => {
      expect(await feed.stream('client', { cursor })).toMatchObject({ status: 400 });
    },
  );
});

describe('FeedService explain', () => {
  const feed = (outrightNetworks: boolean) =>
    new FeedService(
      unreachable as BlocklistRepository,
      unreachable as ReputationRepository,
      { cfg: { outrightNetworks } } as BlockPolicy,
      () => null,
      () => 0,
    );

  it.each([
    ['prefix', '10.0.0.0/24'],
    ['asn', '64500'],
  ])(
    'says outright network scoring is off for %s %s while it is, without reading Redis',
    async (kind, id) => {
      const res = await feed(false).explain(kind, id);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({
        outrightNetworks: false,
        message: expect.stringContaining('outright network scoring is off') as unknown,
      });
    },
  );

  it('reads the outright subjects while they are kept', async () => {
    // The repository is reached (and here refuses): the request was not answered beforehand.
    await expect(feed(true).explain('prefix', '10.0.0.0/24')).rejects.toThrow('Redis reached');
  });
});
