package runner

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zkregister"
)

// Workload names.
const (
	WorkloadZKRegister = "zk-register"
	WorkloadKafkaQueue = "kafka-queue"
)

// Spec is everything a test is; it is stored as the run's test.json.
type Spec struct {
	// Name names the test in the store (default: the workload's name).
	Name string `json:"name"`
	// Workload is the workload to run: zk-register or kafka-queue.
	Workload string `json:"workload"`
	// TimeLimit is how long the workload runs (default 60s).
	TimeLimit time.Duration `json:"time_limit"`
	// Concurrency is the number of client processes (default 10).
	Concurrency int `json:"concurrency"`
	// Rate caps ops per second across all clients; 0 means no cap.
	Rate float64 `json:"rate"`
	// Seed drives every random choice of the test; it is always recorded.
	Seed uint64 `json:"seed"`
	// Store is the store's directory (default ./store).
	Store string `json:"store"`
	// CheckTimeout bounds the check; past it the verdict is unknown
	// (default 5m).
	CheckTimeout time.Duration `json:"check_timeout"`
	// KeepData keeps the nodes' data directories in the store; by default
	// only their configs and logs stay.
	KeepData bool `json:"keep_data,omitempty"`
	// Cluster shapes the cluster.
	Cluster cluster.Options `json:"cluster"`
	// ZKRegister shapes the zk-register workload.
	ZKRegister zkregister.Options `json:"zk_register"`
	// KafkaQueue shapes the kafka-queue workload.
	KafkaQueue kafkaqueue.Options `json:"kafka_queue"`
	// Nemesis chooses the faults injected while the workload runs.
	Nemesis nemesis.Options `json:"nemesis"`
	// QuietPeriod is how long the healed cluster is left alone before the
	// final reads (default 5s).
	QuietPeriod time.Duration `json:"quiet_period"`

	// Logger receives the harness's log, besides the run's faultline.log.
	Logger *slog.Logger `json:"-"`
	// Progress receives the live progress line; nil shows none.
	Progress ProgressSink `json:"-"`
	// DiscardHistory records nothing: for measuring what recording costs.
	// A run without a history cannot be checked.
	DiscardHistory bool `json:"discard_history,omitempty"`
}

// Defaults fills in unset fields.
func (s Spec) Defaults() Spec {
	if s.Workload == "" {
		s.Workload = WorkloadZKRegister
	}
	if s.Name == "" {
		s.Name = s.Workload
	}
	if s.TimeLimit == 0 {
		s.TimeLimit = 60 * time.Second
	}
	if s.Concurrency == 0 {
		s.Concurrency = 10
	}
	if s.Store == "" {
		s.Store = "store"
	}
	if s.CheckTimeout == 0 {
		s.CheckTimeout = 5 * time.Minute
	}
	s.Cluster = s.Cluster.Defaults()
	s.ZKRegister = s.ZKRegister.Defaults()
	s.KafkaQueue = s.KafkaQueue.Defaults(s.Cluster.KafkaNodes)
	s.Nemesis = s.Nemesis.Defaults()
	if s.QuietPeriod == 0 {
		s.QuietPeriod = 5 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Validate checks a spec after Defaults; its errors say how to fix it.
func (s Spec) Validate() error {
	if s.Workload != WorkloadZKRegister && s.Workload != WorkloadKafkaQueue {
		return fmt.Errorf("--workload %q is not a workload: choose %s or %s", s.Workload, WorkloadZKRegister, WorkloadKafkaQueue)
	}
	if err := results.ValidTestName(s.Name); err != nil {
		return err
	}
	if s.TimeLimit < time.Second {
		return fmt.Errorf("--time-limit %s is too short: give at least 1s", s.TimeLimit)
	}
	if s.Concurrency < 1 || s.Concurrency > 1000 {
		return fmt.Errorf("--concurrency %d is out of range: choose 1 to 1000", s.Concurrency)
	}
	if s.Rate < 0 {
		return fmt.Errorf("--rate %g is negative: give ops per second, or 0 for no cap", s.Rate)
	}
	if s.CheckTimeout < time.Second {
		return fmt.Errorf("--check-timeout %s is too short: give at least 1s", s.CheckTimeout)
	}
	if err := s.Cluster.Validate(); err != nil {
		return err
	}
	var infos []nemesis.NodeInfo
	for _, n := range cluster.PlanNodes(s.Cluster) {
		infos = append(infos, nemesis.NodeInfo{Name: n.Name, Role: n.Role})
	}
	if err := s.Nemesis.Validate(infos); err != nil {
		return err
	}
	if s.Workload != WorkloadKafkaQueue && len(s.Nemesis.Kinds) > 0 {
		if s.Nemesis.Partition == nemesis.ShapeKafkaLeader && slices.Contains(s.Nemesis.Kinds, nemesis.KindPartition) {
			return fmt.Errorf("--partition kafka-leader isolates the leader of the test's Kafka topic: use it with --workload kafka-queue")
		}
		if s.Nemesis.Target == nemesis.TargetKafkaLeader {
			return fmt.Errorf("--targets kafka-leader hits the leader of the test's Kafka topic: use it with --workload kafka-queue")
		}
	}
	if s.Workload == WorkloadKafkaQueue {
		return s.KafkaQueue.Validate(s.Cluster.KafkaNodes)
	}
	return s.ZKRegister.Validate()
}
