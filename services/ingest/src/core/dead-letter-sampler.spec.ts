import { DeadLetterSampler } from './dead-letter-sampler';

describe('DeadLetterSampler', () => {
  it('keeps the first of each reason, then one in 1/rate', () => {
    const s = new DeadLetterSampler(0.25);
    const kept = Array.from({ length: 9 }, () =>
      s.sample('a', Buffer.from([1]), 'd', 'src', 5),
    ).filter(Boolean);
    expect(kept).toHaveLength(3); // #0, #4, #8
    expect(s.sample('b', Buffer.from([2, 3]), 'why', 'src', 6)).toEqual({
      v: 1,
      source: 'src',
      reason: 'b',
      receivedAt: 6,
      raw: 'AgM=',
      detail: 'why',
    });
  });

  it('keeps only the first of each reason at rate 0', () => {
    const s = new DeadLetterSampler(0);
    expect(
      [1, 2, 3].map(() => s.sample('a', Buffer.alloc(1), '', 's', 0)).filter(Boolean),
    ).toHaveLength(1);
  });
});
