package kafkaqueue

import (
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/workloads"
	"github.com/spf13/pflag"
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
	// ReplicationFactor is the topic's replication factor (default 3).
	ReplicationFactor int `json:"replication_factor"`
	// MinISR is the topic's min.insync.replicas (default 2).
	MinISR int `json:"min_isr"`
	// Acks is all or leader (default all).
	Acks Acks `json:"acks"`
	// Idempotence is "on", "off" or "auto" (the default): on, unless Acks
	// is leader, which Kafka's idempotent producer does not allow.
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

// DefaultOptions returns the options at their defaults.
func DefaultOptions() *Options {
	o := &Options{}
	o.Defaults()
	return o
}

// Flags binds kafka-queue's flags.
func (o *Options) Flags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "kafka-queue: the topic's partitions, 1 to 1000")
	fs.IntVar(&o.ReplicationFactor, "replication-factor", o.ReplicationFactor, "kafka-queue: the topic's replication factor, 1 to the number of brokers")
	fs.IntVar(&o.MinISR, "min-isr", o.MinISR, "kafka-queue: the topic's min.insync.replicas, 1 to the replication factor")
	fs.Var(workloads.StringFlag[Acks]{V: &o.Acks}, "acks", "kafka-queue: acks all (every in-sync replica) or leader (acks=1)")
	fs.StringVar(&o.Idempotence, "idempotence", o.Idempotence, "kafka-queue: idempotent producer on, off, or auto (on, but off with --acks leader)")
	fs.BoolVar(&o.UncleanLeaderElection, "unclean-leader-election", o.UncleanLeaderElection, "kafka-queue: the topic's unclean.leader.election.enable")
	fs.Var(workloads.StringFlag[ConsumerMode]{V: &o.Consumer}, "consumer", "kafka-queue: consumers assign every partition and read from the start, or subscribe to a consumer group")
}

// SetOpTimeout sets --op-timeout.
func (o *Options) SetOpTimeout(d time.Duration) { o.OpTimeout = d }

// Checkers check the queue.
func (o *Options) Checkers() []checker.Checker { return []checker.Checker{checker.Queue{}} }

// UsesKafkaTopic is true: the nemesis may aim at the topic's leaders.
func (o *Options) UsesKafkaTopic() bool { return true }

// Defaults fills in unset fields.
func (o *Options) Defaults() {
	if o.Partitions == 0 {
		o.Partitions = 3
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = 3
	}
	if o.MinISR == 0 {
		o.MinISR = 2
	}
	if o.Acks == "" {
		o.Acks = AcksAll
	}
	if o.Idempotence == "" {
		o.Idempotence = "auto"
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
}

// Idempotent reports whether the producer is idempotent.
func (o Options) Idempotent() bool {
	switch o.Idempotence {
	case "on":
		return true
	case "off":
		return false
	}
	return o.Acks != AcksLeader
}

// Validate checks options against the cluster; it names every problem
// with the topic's shape at once.
func (o *Options) Validate(shape workloads.ClusterShape) error {
	brokers := shape.Brokers
	if brokers < 1 {
		return fmt.Errorf("kafka-queue needs Kafka brokers: give --kafka-nodes 1 or more")
	}
	if o.Partitions < 1 || o.Partitions > 1000 {
		return fmt.Errorf("--partitions %d is out of range: choose 1 to 1000", o.Partitions)
	}
	var shapeErrs []error
	if o.ReplicationFactor < 1 || o.ReplicationFactor > brokers {
		shapeErrs = append(shapeErrs, fmt.Errorf("--replication-factor %d is out of range: the cluster has %d brokers (choose 1 to %d, or add brokers with --kafka-nodes)", o.ReplicationFactor, brokers, brokers))
	}
	if o.MinISR < 1 || o.MinISR > min(o.ReplicationFactor, brokers) {
		shapeErrs = append(shapeErrs, fmt.Errorf("--min-isr %d is out of range: choose 1 to the replication factor (%d) and the brokers (%d)", o.MinISR, o.ReplicationFactor, brokers))
	}
	if len(shapeErrs) > 0 {
		return errors.Join(shapeErrs...)
	}
	switch o.Acks {
	case AcksAll, AcksLeader:
	default:
		return fmt.Errorf("--acks %q is not an acks setting: choose all or leader", o.Acks)
	}
	switch o.Idempotence {
	case "on", "off", "auto":
	default:
		return fmt.Errorf("--idempotence %q: choose on, off or auto", o.Idempotence)
	}
	if o.Acks == AcksLeader && o.Idempotence == "on" {
		return fmt.Errorf("--acks leader needs --idempotence off: Kafka's idempotent producer requires acks=all")
	}
	switch o.Consumer {
	case ConsumerAssign, ConsumerSubscribe:
	default:
		return fmt.Errorf("--consumer %q is not a consumer mode: choose assign or subscribe", o.Consumer)
	}
	if o.OpTimeout < time.Second || o.OpTimeout > time.Hour {
		return fmt.Errorf("--op-timeout %s is out of range for kafka-queue: give 1s to 1h", o.OpTimeout)
	}
	if o.FinalReadTimeout < time.Second || o.FinalReadTimeout > 3*time.Minute {
		return fmt.Errorf("final read timeout %s is out of range: give 1s to 3m", o.FinalReadTimeout)
	}
	return nil
}
