import type * as Crypto from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import { ApiKeys } from './api-keys';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof Crypto>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

describe('ApiKeys', () => {
  const keys = new ApiKeys(['first-key-0123456789', 'second-key-0123456789-longer'], 'X_KEYS');

  it('tells missing (401), unknown or revoked (403) and disabled (503) apart', () => {
    expect(keys.check(undefined)).toMatchObject({ ok: false, status: 401 });
    expect(keys.check('')).toMatchObject({ ok: false, status: 401 });
    expect(keys.check('first-key-012345678')).toMatchObject({ ok: false, status: 403 });
    expect(new ApiKeys([], 'X_KEYS').check('first-key-0123456789')).toEqual({
      ok: false,
      status: 503,
      message: 'this API is disabled: set X_KEYS',
    });
  });

  it('names each key by a stable id that is not the key', () => {
    const a = keys.check('first-key-0123456789');
    const b = keys.check('second-key-0123456789-longer');
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    if (!a.ok || !b.ok) return;
    expect(a.client).not.toBe(b.client);
    expect(a.client).toMatch(/^[0-9a-f]{16}$/);
    expect(keys.check('first-key-0123456789')).toEqual(a);
  });

  it('compares equal-length digests with timingSafeEqual, against every key, whatever the length presented', () => {
    const spy = jest.mocked(timingSafeEqual);
    for (const presented of ['x', 'first-key-0123456789', 'y'.repeat(10_000)]) {
      spy.mockClear();
      keys.check(presented);
      expect(spy).toHaveBeenCalledTimes(2);
      for (const [a, b] of spy.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
  });
});
