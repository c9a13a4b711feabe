import { ConsoleAuth } from './console-auth';

const KEY = 'operator-key-0123456789';
const OTHER = 'second-operator-key-0123';
const HOUR = 3_600_000;

describe('ConsoleAuth', () => {
  it('issues a session for a configured key only, and says why not otherwise', () => {
    const auth = new ConsoleAuth([KEY, OTHER], 'CONSOLE_API_KEYS', HOUR);
    const ok = auth.login(KEY, 1_000);
    expect(ok.ok).toBe(true);
    expect(auth.login('not-a-key-at-all-0000', 1_000)).toMatchObject({ ok: false, status: 403 });
    expect(auth.login('', 1_000)).toMatchObject({ ok: false, status: 401 });
    expect(auth.login(['a', 'b'], 1_000)).toMatchObject({ ok: false, status: 401 });
    if (!ok.ok) return;
    expect(auth.verify(ok.token, 2_000)).toEqual({
      client: ok.session.client,
      expiresAt: 1_000 + HOUR,
      token: ok.token,
    });
    // The key itself never appears in the token.
    expect(ok.token).not.toContain(KEY);
  });

  it('refuses expired, altered, foreign and logged-out tokens', () => {
    const auth = new ConsoleAuth([KEY], 'CONSOLE_API_KEYS', HOUR);
    const ok = auth.login(KEY, 0);
    if (!ok.ok) throw new Error('login failed');
    expect(auth.verify(ok.token, HOUR)).toBeNull();
    const [v, client, expires, nonce, sig] = ok.token.split('.');
    expect(auth.verify([v, client, String(10 * HOUR), nonce, sig].join('.'), 1)).toBeNull();
    // A different signature (its first character changed: whole bits, unlike the last one's).
    const forged = `${sig!.startsWith('A') ? 'B' : 'A'}${sig!.slice(1)}`;
    expect(auth.verify([v, client, expires, nonce, forged].join('.'), 1)).toBeNull();
    expect(auth.verify('garbage', 1)).toBeNull();
    expect(auth.verify(undefined, 1)).toBeNull();
    const elsewhere = new ConsoleAuth([OTHER], 'CONSOLE_API_KEYS', HOUR);
    expect(elsewhere.verify(ok.token, 1)).toBeNull();
    auth.logout(ok.token, 1);
    expect(auth.verify(ok.token, 2)).toBeNull();
  });

  it('keeps sessions across a restart with the same keys and ends them when their key is removed', () => {
    const before = new ConsoleAuth([KEY, OTHER], 'CONSOLE_API_KEYS', HOUR);
    const a = before.login(KEY, 0);
    const b = before.login(OTHER, 0);
    if (!a.ok || !b.ok) throw new Error('login failed');
    const restarted = new ConsoleAuth([KEY, OTHER], 'CONSOLE_API_KEYS', HOUR);
    expect(restarted.verify(a.token, 1)).not.toBeNull();
    const revoked = new ConsoleAuth([KEY], 'CONSOLE_API_KEYS', HOUR);
    expect(revoked.verify(a.token, 1)).not.toBeNull();
    expect(revoked.verify(b.token, 1)).toBeNull();
    expect(revoked.checkKey(OTHER)).toMatchObject({ ok: false, status: 403 });
  });

  it('sets the cookie HttpOnly and SameSite=Strict, Secure only over TLS', () => {
    const auth = new ConsoleAuth([KEY], 'CONSOLE_API_KEYS', HOUR);
    expect(auth.cookie('t', false)).toBe(
      'sluice_console=t; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict',
    );
    expect(auth.cookie('t', true)).toMatch(/; Secure$/);
    expect(auth.clearCookie(false)).toContain('Max-Age=0');
  });
});
