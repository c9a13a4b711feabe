import { vocabularySettings } from '../name-scoring';
import { SeenFilter, type SeenFilterJson } from '../seen-filter';
import { type DetectorSettings } from '../settings';
import { ZoneVocabulary, type VocabularyJson } from '../zone-vocabulary';
import { BLOCKS } from './shard-routing';

/** Seen-filter and vocabulary settings for one block: the zone's, divided by BLOCKS. */
export function blockFilter(s: DetectorSettings) {
  return {
    capacity: Math.ceil(s.seenCapacity / BLOCKS),
    falsePositiveRate: s.seenFalsePositiveRate,
    initialCapacity: Math.ceil(4096 / BLOCKS),
  };
}

/** The zone's vocabulary bounds (NameScoring's), the capacity divided among the blocks. */
function blockVocabulary(s: DetectorSettings) {
  const v = vocabularySettings(s);
  return { ...v, capacity: Math.ceil(v.capacity / BLOCKS) };
}

export interface BlockJson {
  seen: SeenFilterJson;
  alertSeen: SeenFilterJson | null;
  vocabulary: VocabularyJson;
  vocabularyVersion: number;
  recentNew: [number, { tick: number; repeated: boolean }][];
}

/** One block's names: what NameScoring holds per zone, for 1/BLOCKS of the names. */
export class NameBlock {
  seen: SeenFilter;
  alertSeen: SeenFilter | null = null;
  vocabulary: ZoneVocabulary;
  recentNew = new Map<number, { tick: number; repeated: boolean }>();
  sampledThisTick = 0;

  constructor(s: DetectorSettings) {
    this.seen = new SeenFilter(blockFilter(s));
    this.vocabulary = new ZoneVocabulary(blockVocabulary(s));
  }

  toJSON(): BlockJson {
    return {
      seen: this.seen.toJSON(),
      alertSeen: this.alertSeen?.toJSON() ?? null,
      vocabulary: this.vocabulary.toJSON(),
      vocabularyVersion: this.vocabulary.version,
      recentNew: [...this.recentNew],
    };
  }

  static fromJSON(s: DetectorSettings, j: BlockJson): NameBlock {
    const b = new NameBlock(s);
    b.seen = SeenFilter.fromJSON(blockFilter(s), j.seen);
    b.alertSeen = j.alertSeen ? SeenFilter.fromJSON(blockFilter(s), j.alertSeen) : null;
    b.vocabulary = ZoneVocabulary.fromJSON(blockVocabulary(s), j.vocabulary);
    b.vocabulary.version = j.vocabularyVersion;
    b.recentNew = new Map(j.recentNew.map(([h, r]) => [h, { ...r }]));
    return b;
  }
}
