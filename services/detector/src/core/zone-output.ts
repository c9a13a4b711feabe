import { type Alert, type KnownNames, type Offender, type ZoneStats } from '@sluice/contracts';

/** What closing a zone's ticks produced, appended in order. */
export interface ZoneOutput {
  alerts: Alert[];
  zoneStats: ZoneStats[];
  offenders: Offender[];
  /** The zone's established names, once per alert start (the zone guard's allow list). */
  knownNames: KnownNames[];
}
