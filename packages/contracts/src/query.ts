import { z } from 'zod';

/**
 * The one canonical query event. Later stages never invent a new shape: they add
 * optional namespaced blocks (see EnrichmentBlock) to the records derived from it.
 */
export const transportSchema = z.enum(['udp', 'tcp', 'dot', 'doh', 'doq', 'unknown']);
export type Transport = z.infer<typeof transportSchema>;

export const queryEventSchema = z.object({
  /** Event time from the traffic (dnstap/pcap timestamp), epoch milliseconds with microsecond fraction. Never the wall clock. */
  ts: z.number().nonnegative(),
  /** The address that sent the query: for an authoritative server, the recursive resolver. */
  resolver: z.string().min(1),
  resolverPort: z.number().int().min(0).max(65535),
  transport: transportSchema,
  /** Lower-cased, no trailing dot. */
  qname: z.string(),
  /** Numeric RR type (1 = A, 28 = AAAA, …) so unknown types survive. */
  qtype: z.number().int().min(0).max(65535),
  qclass: z.number().int().min(0).max(65535),
  rd: z.boolean(),
  cd: z.boolean(),
  /** EDNS DO bit; false when there is no OPT record. */
  do: z.boolean(),
  /** EDNS UDP payload size, or null when the query carries no OPT record (Mirai sends none). */
  ednsSize: z.number().int().min(0).max(65535).nullable(),
  id: z.number().int().min(0).max(65535),
  /** Target zone: longest configured served zone, else the registrable domain. */
  zone: z.string(),
  /** Response code when a response was observed (dnstap AUTH_RESPONSE, pcap answer), else null. */
  rcode: z.number().int().min(0).max(4095).nullable(),
  /**
   * Answer records in that response (NOERROR with none is NODATA), else null. Optional:
   * producers that never see responses may leave it out.
   */
  ancount: z.number().int().min(0).max(65535).nullable().optional(),
});
export type QueryEvent = z.infer<typeof queryEventSchema>;

/** One Kafka message on sluice.queries.v1: queries for a single zone (the message key). */
export const queryBatchSchema = z.object({
  v: z.literal(1),
  /** Where the traffic came from: dnstap identity, pcap file name, or mirror listener. */
  source: z.string(),
  zone: z.string(),
  events: z.array(queryEventSchema),
});
export type QueryBatch = z.infer<typeof queryBatchSchema>;
