import { SluiceError } from '@sluice/contracts';
import { loadDetectorConfig, settingsFrom } from './detector.config';

describe('detector config', () => {
  it('turns allowlist and sensitivity variables into core settings', () => {
    const c = loadDetectorConfig({
      DETECTOR_ALLOWLIST: 'RUM.Example.com., beacons.example.net',
      DETECTOR_SENSITIVITY: 'example.com=2,noisy.example=0.5',
      DETECTOR_ALLOWED_LATENESS_MS: '500',
      DETECTOR_MAX_TRACKED_RESOLVERS: '2000',
    });
    const s = settingsFrom(c);
    expect(s.maxTrackedResolvers).toBe(2000);
    expect(s.allowlist).toEqual(['rum.example.com', 'beacons.example.net']);
    expect(s.sensitivity).toEqual({ 'example.com': 2, 'noisy.example': 0.5 });
    expect(s.allowedLatenessMs).toBe(500);
    expect(c.DETECTOR_QUERIES_TOPIC).toBe('sluice.queries.v1');
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadDetectorConfig({
        DETECTOR_SENSITIVITY: 'example.com=fast',
        DETECTOR_Z_START: '-1',
        DETECTOR_MAX_TRACKED_RESOLVERS: '0',
        DETECTOR_BOOT_WARM_UP: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as Error).message).toMatch(/DETECTOR_SENSITIVITY/);
    expect((error as Error).message).toMatch(/DETECTOR_Z_START/);
    expect((error as Error).message).toMatch(/DETECTOR_MAX_TRACKED_RESOLVERS/);
    expect((error as Error).message).toMatch(/DETECTOR_BOOT_WARM_UP/);
  });

  it('warms up at boot unless told not to', () => {
    expect(loadDetectorConfig({}).DETECTOR_BOOT_WARM_UP).toBe(true);
    expect(loadDetectorConfig({ DETECTOR_BOOT_WARM_UP: 'false' }).DETECTOR_BOOT_WARM_UP).toBe(
      false,
    );
  });

  it('reads hot zones as zone:K and stops on a bad one, naming DETECTOR_HOT_ZONES', () => {
    const c = loadDetectorConfig({ DETECTOR_HOT_ZONES: 'Flooded.Example.:4, other.example:2' });
    expect(c.DETECTOR_HOT_ZONES).toEqual({ 'flooded.example': 4, 'other.example': 2 });
    expect(loadDetectorConfig({}).DETECTOR_HOT_ZONES).toEqual({});
    for (const bad of ['flooded.example', 'flooded.example:0', 'flooded.example:65', ':4'])
      expect(() => loadDetectorConfig({ DETECTOR_HOT_ZONES: bad })).toThrow(/DETECTOR_HOT_ZONES/);
  });
});
