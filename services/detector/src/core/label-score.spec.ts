import { FingerprintAcc } from './fingerprint';
import { bitsPerChar, GENERIC_PRIOR, NgramModel, scoreSubname } from './label-score';

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

  it("keeps each zone model's remembered surprises exact through training, decay and restore", () => {
    // The same prior as a different object: bitsPerChar then computes every term afresh, the
    // reference for the per-model cache the detector's path reads.
    const reference = NgramModel.fromJSON(GENERIC_PRIOR.toJSON());
    const names = ['www', 'checkout-eu', 'kq3vz8maab1c', 'zqxjkv-prod', 'a1.b2.c3', 'mail'];
    const exact = (m: NgramModel) => {
      for (const n of names)
        expect(scoreSubname(n, m).bitsPerChar).toBe(bitsPerChar(n, m, reference));
    };
    let a = new NgramModel();
    const b = new NgramModel();
    for (let i = 0; i < 400; i++) {
      a.train(i % 3 ? 'checkout-eu' : 'static');
      b.train(i % 2 ? 'zqxjkv-prod' : 'api-west');
    }
    let checks = 0;
    for (let round = 0; round < 30; round++) {
      exact(a);
      exact(b); // a second model in between must not leave a's entries stale
      a.train(names[round % names.length]!); // changes a few rows of a's cached table
      if (round === 10) a.decay(); // changes every row
      if (round === 20) a = NgramModel.fromJSON(a.toJSON());
      checks++;
    }
    expect(checks).toBe(30);
    expect(a.bitsCache).not.toBeNull(); // the cached path was the one measured
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

  it('keeps an alert’s randomlabel / dictionary label while its share of random names stays near the line', () => {
    // Random labels under a parent ("k2j4x9q.www"): 'random' is the scorer's verdict, by count.
    const names = (f: FingerprintAcc, random: number, plain: number) => {
      for (let i = 0; i < random; i++) add(f, `q${i.toString(36)}x7k2.www`, true);
      for (let i = 0; i < plain; i++) add(f, `mail${i}.www`, false);
    };
    const f = new FingerprintAcc();
    names(f, 76, 24);
    expect(f.toFingerprint().generator).toBe('randomlabel');
    names(f, 71, 29); // 147 of 200: 0.735, just under the line
    expect(f.toFingerprint().generator).toBe('randomlabel');
    // A checkpoint carries what was said.
    expect(FingerprintAcc.fromJSON(f.toJSON()).toFingerprint().generator).toBe('randomlabel');
    names(f, 40, 60); // 187 of 300: 0.62, clearly dictionary-like
    expect(f.toFingerprint().generator).toBe('dictionary');
    // A fresh accumulator at 0.735 draws the line where it is.
    const g = new FingerprintAcc();
    names(g, 147, 53);
    expect(g.toFingerprint().generator).toBe('dictionary');
  });
});
