import { type FuzzTargetFactory } from '@sluice/testing';
import { pcapFuzzTarget, pcapngFuzzTarget } from './capture.target';
import { dnsFuzzTarget } from './dns.target';
import { frameStreamsFuzzTarget } from './frame-streams.target';
import { queryBatchFuzzTarget } from './query-batch.target';
import { tcpReassemblerFuzzTarget } from './tcp-reassembler.target';

/**
 * The ingest's fuzz targets: everything that reads bytes from outside, and the query-batch codec
 * (contracts) fed the batches the ingest publishes.
 */
export const ingestFuzzTargets: readonly FuzzTargetFactory[] = [
  dnsFuzzTarget,
  frameStreamsFuzzTarget,
  pcapFuzzTarget,
  pcapngFuzzTarget,
  tcpReassemblerFuzzTarget,
  queryBatchFuzzTarget,
];
