import { decodeMessage, encodeMessage } from './codec';
import { SluiceError } from './errors';
import { blocklistEntrySchema, type BlocklistEntry } from './messages';
import { Topics, TopicSpecs } from './topics';

const entry: BlocklistEntry = {
  v: 1,
  id: 'rz:198.51.100.7:example.com',
  scope: { kind: 'resolver-zone', resolver: '198.51.100.7', zone: 'example.com' },
  action: 'drop',
  reason: 'PRSD flood',
  score: 12.5,
  createdAt: 1_000,
  expiresAt: 2_000,
  shadow: false,
};

describe('message codec', () => {
  it('round-trips a valid message', () => {
    expect(decodeMessage(blocklistEntrySchema, encodeMessage(blocklistEntrySchema, entry))).toEqual(
      entry,
    );
  });

  it('refuses to encode an off-contract message', () => {
    expect(() =>
      encodeMessage(blocklistEntrySchema, { ...entry, action: 'explode' as 'drop' }),
    ).toThrow(SluiceError);
  });

  it('names the problem when decoding garbage', () => {
    expect(() => decodeMessage(blocklistEntrySchema, Buffer.from('{nope'))).toThrow(/not JSON/);
    expect(() => decodeMessage(blocklistEntrySchema, null)).toThrow(/tombstone/);
  });

  it('versions every topic name and compacts only the keyed state topics', () => {
    for (const name of Object.values(Topics)) expect(name).toMatch(/^sluice\.[a-z.-]+\.v\d+$/);
    expect(
      Object.values(TopicSpecs)
        .filter((s) => s.compacted)
        .map((s) => s.name),
    ).toEqual([Topics.blocklist, Topics.knownNames]);
  });
});
