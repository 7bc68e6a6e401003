package kafkaqueue

import (
	"fmt"
	"time"
)

// Acks says which replicas must have a record before Kafka acknowledges it.
type Acks string

// The acks settings.
const (
	// AcksAll waits for every in-sync replica (acks=all, -1).
	AcksAll Acks = "all"
	// AcksLeader waits for the leader only (acks=1): the documented way
	// to lose acknowledged writes when the leader fails.
	AcksLeader Acks = "leader"
)

// ConsumerMode says how consumer processes read.
type ConsumerMode string

// The consumer modes.
const (
	// ConsumerAssign assigns each consumer every partition, read from the
	// beginning; its reads must rise without gaps.
	ConsumerAssign ConsumerMode = "assign"
	// ConsumerSubscribe joins one consumer group and commits offsets.
	ConsumerSubscribe ConsumerMode = "subscribe"
)

// Options shape the workload.
type Options struct {
	// Partitions is the test topic's partition count (default 3).
	Partitions int `json:"partitions"`
	// ReplicationFactor is the topic's replication factor (default 3, or
	// the number of brokers when fewer).
	ReplicationFactor int `json:"replication_factor"`
	// MinISR is the topic's min.insync.replicas (default 2, or the
	// replication factor when lower).
	MinISR int `json:"min_isr"`
	// Acks is all or leader (default all).
	Acks Acks `json:"acks"`
	// Idempotence is "on" or "off"; empty means on, unless Acks is
	// leader, which Kafka's idempotent producer does not allow.
	Idempotence string `json:"idempotence"`
	// UncleanLeaderElection sets the topic's unclean.leader.election.enable.
	UncleanLeaderElection bool `json:"unclean_leader_election"`
	// Consumer is assign or subscribe (default assign).
	Consumer ConsumerMode `json:"consumer"`
	// OpTimeout bounds each send and poll: a send not acknowledged by then
	// is info (default 10s). The producer's delivery timeout is set a
	// little shorter, so that Kafka's own answer usually comes first.
	OpTimeout time.Duration `json:"op_timeout"`
	// FinalReadTimeout bounds the wait, after healing, for every replica
	// to be back in sync and the end offsets to settle (default 2m, at
	// most 3m: the runner gives the healing, this wait and the reads 6m in
	// all). Each partition's read then gives up after 30s without progress.
	FinalReadTimeout time.Duration `json:"final_read_timeout"`
}

// Defaults fills in unset fields for a cluster of brokers brokers.
func (o Options) Defaults(brokers int) Options {
	if o.Partitions == 0 {
		o.Partitions = 3
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = min(3, max(brokers, 1))
	}
	if o.MinISR == 0 {
		o.MinISR = min(2, o.ReplicationFactor)
	}
	if o.Acks == "" {
		o.Acks = AcksAll
	}
	if o.Idempotence == "" {
		o.Idempotence = "on"
		if o.Acks == AcksLeader {
			o.Idempotence = "off"
		}
	}
	if o.Consumer == "" {
		o.Consumer = ConsumerAssign
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 10 * time.Second
	}
	if o.FinalReadTimeout == 0 {
		o.FinalReadTimeout = 2 * time.Minute
	}
	return o
}

// Idempotent reports whether the producer is idempotent.
func (o Options) Idempotent() bool { return o.Idempotence == "on" }

// Validate checks options after Defaults against the number of brokers.
func (o Options) Validate(brokers int) error {
	if o.Partitions < 1 || o.Partitions > 1000 {
		return fmt.Errorf("--partitions %d is out of range: choose 1 to 1000", o.Partitions)
	}
	if o.ReplicationFactor < 1 || o.ReplicationFactor > brokers {
		return fmt.Errorf("--replication-factor %d is out of range: the cluster has %d brokers (choose 1 to %d, or add brokers with --kafka-nodes)", o.ReplicationFactor, brokers, brokers)
	}
	if o.MinISR < 1 || o.MinISR > o.ReplicationFactor {
		return fmt.Errorf("--min-isr %d is out of range: choose 1 to the replication factor, %d", o.MinISR, o.ReplicationFactor)
	}
	switch o.Acks {
	case AcksAll, AcksLeader:
	default:
		return fmt.Errorf("--acks %q is not an acks setting: choose all or leader", o.Acks)
	}
	switch o.Idempotence {
	case "on", "off":
	default:
		return fmt.Errorf("--idempotence %q: choose on or off", o.Idempotence)
	}
	if o.Acks == AcksLeader && o.Idempotent() {
		return fmt.Errorf("--acks leader needs --idempotence off: Kafka's idempotent producer requires acks=all")
	}
	switch o.Consumer {
	case ConsumerAssign, ConsumerSubscribe:
	default:
		return fmt.Errorf("--consumer %q is not a consumer mode: choose assign or subscribe", o.Consumer)
	}
	if o.OpTimeout < time.Second {
		return fmt.Errorf("--op-timeout %s is too short for kafka-queue: give at least 1s", o.OpTimeout)
	}
	if o.FinalReadTimeout < time.Second || o.FinalReadTimeout > 3*time.Minute {
		return fmt.Errorf("final read timeout %s is out of range: give 1s to 3m", o.FinalReadTimeout)
	}
	return nil
}
