// Package kafkaqueue is the kafka-queue workload: producer processes send
// unique values to chosen partitions of a fresh topic, consumer processes
// poll them back, and after healing the final reads read every partition
// from its beginning to its end, for checker.Queue to judge whether Kafka
// kept every acknowledged message, once, in order.
package kafkaqueue
