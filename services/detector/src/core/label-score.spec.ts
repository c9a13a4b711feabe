import { FingerprintAcc } from './fingerprint';
import { NgramModel, scoreSubname } from './label-score';

describe('scoreSubname', () => {
  it.each(['kq3vz8maab1c', 'a1b2c3d4e5f60718', 'xk2-9_a.b7q', 'q0w8e7r6t5y4u3i2'])(
    'calls %s random',
    (name) => {
      expect(scoreSubname(name, null).score).toBeGreaterThanOrEqual(0.6);
    },
  );

  it.each(['www', 'mail', 'checkout-eu', 'api-west', 'static.eu', 'blue-river-stone'])(
    'calls %s ordinary',
    (name) => {
      expect(scoreSubname(name, null).score).toBeLessThan(0.6);
    },
  );

  it('measures length, labels, entropy and digit mix', () => {
    const f = scoreSubname('ab12.cd', null);
    expect(f).toMatchObject({ length: 6, labels: 2, firstLabelLength: 4 });
    expect(f.digitShare).toBeCloseTo(2 / 6);
    expect(f.entropy).toBeCloseTo(Math.log2(6));
  });

  it("learns the zone's own vocabulary: its odd names become less surprising", () => {
    const model = new NgramModel();
    const before = scoreSubname('zqxjkv-prod', model).bitsPerChar;
    for (let i = 0; i < 500; i++) model.train(i % 2 ? 'zqxjkv-prod' : 'zqxjkv-stage');
    expect(scoreSubname('zqxjkv-prod', model).bitsPerChar).toBeLessThan(before - 0.5);
  });
});

describe('FingerprintAcc', () => {
  const add = (f: FingerprintAcc, name: string, random = true) => {
    const s = scoreSubname(name, null);
    f.add(name, s.firstLabelLength, s.labels, 1, true, false, s.bitsPerChar, random);
  };

  it('recognises Mirai by its 12-character labels over a–w and 0–8', () => {
    const f = new FingerprintAcc();
    const alphabet = 'abcdefghijklmnopqrstuvw012345678';
    let seed = 12345;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    for (let i = 0; i < 300; i++) {
      let label = '';
      for (let j = 0; j < 12; j++) label += alphabet[Math.floor(next() * alphabet.length)];
      add(f, label);
    }
    add(f, 'mail-xyz999'); // one ordinary new name must not spoil the alphabet
    const fp = f.toFingerprint();
    expect(fp.generator).toBe('mirai');
    expect(fp.alphabet).toBe('012345678abcdefghijklmnopqrstuvw');
    expect(fp.rdShare).toBe(1);
    expect(fp.ednsShare).toBe(0);
  });

  it('tells hex apart', () => {
    const f = new FingerprintAcc();
    for (let i = 0; i < 200; i++) add(f, (i * 2654435761).toString(16).padStart(16, 'f'));
    expect(f.toFingerprint().generator).toBe('hex');
  });
});
