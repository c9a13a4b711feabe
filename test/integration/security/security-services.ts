import { request } from 'node:http';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, uniqueName } from '@sluice/testing';
import { startEnrichment } from '../../../services/enrichment/test/integration/start-enrichment';
import {
  serviceConfig,
  serviceTopics,
  startService,
} from '../../../services/reputation/test/integration/service.helpers';

/** A service with a public API behind service-kit's HTTP guard, started for real on loopback. */
export interface GuardedService {
  url: string;
  close(): Promise<void>;
}

export interface GuardedServiceKind {
  name: 'reputation' | 'enrichment';
  /** The variable holding the API keys. */
  keySetting: 'FEED_API_KEYS' | 'REPORT_API_KEYS';
  /** A route that answers 200 with a valid key. */
  path: string;
  start(kafka: Kafka, env: Record<string, string>): Promise<GuardedService>;
}

export const reputationKind: GuardedServiceKind = {
  name: 'reputation',
  keySetting: 'FEED_API_KEYS',
  path: '/v1/blocklist?format=text',
  async start(kafka, env) {
    const { input, output, producer } = await serviceTopics(kafka, 'sec-rep');
    await producer.disconnect();
    const [alerts = '', known = '', dead = ''] = await createTestTopics(
      kafka,
      ['sec-al', 'sec-kn', 'sec-dl'],
      {
        partitions: 1,
      },
    );
    const svc = await startService(
      serviceConfig({
        REPUTATION_INPUT_TOPIC: input,
        REPUTATION_OUTPUT_TOPIC: output,
        REPUTATION_ALERTS_TOPIC: alerts,
        REPUTATION_KNOWN_NAMES_TOPIC: known,
        REPUTATION_DEADLETTER_TOPIC: dead,
        RPZ_ENABLED: 'false',
        ...env,
      }),
    );
    return { url: svc.url, close: () => svc.close() };
  },
};

export const enrichmentKind: GuardedServiceKind = {
  name: 'enrichment',
  keySetting: 'REPORT_API_KEYS',
  path: '/report/alerts?zone=victim.example',
  async start(kafka, env) {
    const [offenders, alerts, enriched, dead] = await createTestTopics(
      kafka,
      ['sec-off', 'sec-alerts', 'sec-enr', 'sec-dead'],
      { partitions: 1 },
    );
    const svc = await startEnrichment({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      REDIS_URL: process.env.REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('sec-enr')}:`,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      KAFKA_TOPIC_PARTITIONS: '1',
      ENRICH_CONSUMER_GROUP: uniqueName('sec-enr'),
      ENRICH_OFFENDERS_TOPIC: offenders,
      ENRICH_ALERTS_TOPIC: alerts,
      ENRICH_OUTPUT_TOPIC: enriched,
      ENRICH_DEADLETTER_TOPIC: dead,
      ...env,
    });
    return { url: svc.url, close: () => svc.close() };
  },
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request over a fresh connection with node:http, so headers, lengths and chunking are
 * exactly what the test says (fetch would normalise them).
 */
export function raw(
  url: string,
  path: string,
  o: { headers?: Record<string, string>; body?: Buffer[]; method?: string } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: o.method ?? 'GET',
        headers: o.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    // The server may answer (413) and close before the body is all written: that is the point.
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') reject(e);
    });
    for (const chunk of o.body ?? []) req.write(chunk);
    req.end();
  });
}
