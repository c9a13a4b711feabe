import { type FuzzTargetFactory } from '@sluice/testing';
import { httpFeedFuzzTarget } from './http-feed.target';
import { rpzXfrFuzzTarget } from './rpz-xfr.target';

/** The reputation service's hostile-client surfaces: the RPZ transfer server and the HTTP feed. */
export const reputationFuzzTargets: readonly FuzzTargetFactory[] = [
  rpzXfrFuzzTarget,
  httpFeedFuzzTarget,
];
