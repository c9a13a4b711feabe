/**
 * Where a test nameserver sends its dnstap: the ingest's unix socket, or its TCP listener.
 * Every server below speaks bidirectional Frame Streams on both (READY → ACCEPT → START).
 */
export type DnstapSink = { unix: string } | { tcp: { host: string; port: number } };

/** A dnstap sink with the identity the server writes into every message. */
export interface DnstapOutput {
  sink: DnstapSink;
  identity: string;
}
