export * from './client';
export * from './provision';
export * from './batching-producer';
export * from './batch-consumer';
export { type Kafka, type KafkaMessage, CompressionTypes } from 'kafkajs';
export * from './kafka-batch-sender';
export * from './consumer-lag';
export * from './errors';
export * from './group-coordinator';
