import { type Command } from 'commander';
import { z } from 'zod';
import { checkKafkaEnv, kafkaConfigFrom, kafkaEnvShape, loadConfig } from '@sluice/config';
import { TopicSpecs } from '@sluice/contracts';
import { createKafka, provisionTopics } from '@sluice/kafka';

/** `sluice topics create`: provision every Sluice topic (idempotent). */
export function register(program: Command): void {
  program
    .command('topics')
    .description('manage Sluice Kafka topics')
    .command('create')
    .description(
      'create every missing sluice.* topic (blocklist compacted); existing ones are left alone',
    )
    .action(async () => {
      const env = loadConfig(z.object(kafkaEnvShape).superRefine(checkKafkaEnv));
      const config = kafkaConfigFrom(env, 'sluice-cli');
      const created = await provisionTopics(createKafka(config), Object.values(TopicSpecs), {
        partitions: config.topicPartitions,
        replicationFactor: config.replicationFactor,
      });
      process.stdout.write(
        created.length ? `created: ${created.join(', ')}\n` : 'all topics exist\n',
      );
    });
}
