package runner

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/backends"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/registry"
)

// DefaultWorkload is the workload a spec without one runs.
const DefaultWorkload = "zk-register"

// Spec is everything a test is; it is stored in the run's test.json.
type Spec struct {
	// Name names the test in the store (default: the workload's name).
	Name string `json:"name"`
	// Workload names the workload to run (see the registry package).
	Workload string `json:"workload"`
	// WorkloadOptions are the workload's own options (its Definition's
	// NewOptions type); nil means its defaults.
	WorkloadOptions workloads.Options `json:"workload_options"`
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
	// OpTimeout, when set, bounds every op of the workload (each workload
	// has its own default).
	OpTimeout time.Duration `json:"op_timeout,omitempty"`
	// Cluster shapes the cluster, and names its backend.
	Cluster cluster.Options `json:"cluster"`
	// Nemesis chooses the faults injected while the workload runs.
	Nemesis nemesis.Options `json:"nemesis"`
	// Schedule, when given, is the fault schedule to run instead of one
	// drawn from Nemesis and Seed: a scripted one (--schedule, a
	// scenario) or a stored run's (--replay). Nemesis.Kinds are then its
	// kinds.
	Schedule []nemesis.Step `json:"schedule,omitempty"`
	// QuietPeriod is how long the healed cluster is left alone before the
	// final reads (default 5s).
	QuietPeriod time.Duration `json:"quiet_period"`
	// Observe runs the leadership observer beside the workload (package
	// observer): it asks each node about once a second what it believes
	// about leadership and records the answers as ops of process
	// observer, which checker.Leadership judges, from the workload's
	// start until the final reads begin. Nil means on (Defaults sets
	// it); --no-observer turns it off.
	Observe *bool `json:"observe,omitempty"`

	// Logger receives the harness's log, besides the run's faultline.log.
	Logger *slog.Logger `json:"-"`
	// Progress receives the live progress line; nil shows none.
	Progress ProgressSink `json:"-"`
	// DiscardHistory records nothing: for measuring what recording costs.
	// A run without a history cannot be checked.
	DiscardHistory bool `json:"discard_history,omitempty"`
	// faults are the faults the nemesis may use (default nemesis.Builtin):
	// tests give faults that fail on purpose.
	faults func() []nemesis.Fault
}

// Defaults fills in unset fields; it never changes a field that is set.
func (s Spec) Defaults() Spec {
	if s.Workload == "" {
		s.Workload = DefaultWorkload
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
	if def, err := registry.Lookup(s.Workload); err == nil {
		if s.WorkloadOptions == nil {
			s.WorkloadOptions = def.NewOptions()
		}
		if s.Cluster.KafkaNodes == 0 {
			s.Cluster.KafkaNodes = def.KafkaNodes
		}
		if len(s.Nemesis.Roles) == 0 {
			s.Nemesis.Roles = slices.Clone(def.Roles)
		}
	}
	if s.WorkloadOptions != nil {
		s.WorkloadOptions.Defaults()
		if s.OpTimeout > 0 {
			s.WorkloadOptions.SetOpTimeout(s.OpTimeout)
		}
	}
	s.Cluster = s.Cluster.Defaults()
	if len(s.Schedule) > 0 && len(s.Nemesis.Kinds) == 0 {
		s.Nemesis.Kinds = nemesis.ScheduleKinds(s.Schedule)
	}
	s.Nemesis = s.Nemesis.Defaults()
	if s.QuietPeriod == 0 {
		s.QuietPeriod = 5 * time.Second
	}
	if s.Observe == nil {
		on := true
		s.Observe = &on
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.faults == nil {
		s.faults = nemesis.Builtin
	}
	return s
}

// Observing says whether the run has the leadership observer: unless
// Observe turns it off.
func (s Spec) Observing() bool { return s.Observe == nil || *s.Observe }

// Validate checks a spec; its errors say how to fix it. It checks the
// values as they are: call it before Defaults to refuse zeros a person
// gave, after it for a spec built in code.
func (s Spec) Validate() error {
	def, err := registry.Lookup(s.Workload)
	if err != nil {
		return err
	}
	if s.Name != "" {
		if err := results.ValidTestName(s.Name); err != nil {
			return err
		}
	}
	if s.TimeLimit < time.Second || s.TimeLimit > 30*24*time.Hour {
		return fmt.Errorf("--time-limit %s is out of range: give 1s to 720h", s.TimeLimit)
	}
	if s.Concurrency < 1 || s.Concurrency > 1000 {
		return fmt.Errorf("--concurrency %d is out of range: choose 1 to 1000", s.Concurrency)
	}
	if math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) || s.Rate < 0 || s.Rate > 1e9 {
		return fmt.Errorf("--rate %g is out of range: give ops per second, 0 (no cap) to 1e9", s.Rate)
	}
	if s.CheckTimeout < time.Second || s.CheckTimeout > 30*24*time.Hour {
		return fmt.Errorf("--check-timeout %s is out of range: give 1s to 720h", s.CheckTimeout)
	}
	if s.OpTimeout < 0 {
		return fmt.Errorf("--op-timeout %s is negative: give a duration such as 5s", s.OpTimeout)
	}
	if s.QuietPeriod < 100*time.Millisecond || s.QuietPeriod > time.Hour {
		return fmt.Errorf("--quiet-period %s is out of range: give 100ms to 1h", s.QuietPeriod)
	}
	if _, err := backends.Get(s.Cluster.Backend); err != nil {
		return err
	}
	if err := s.Cluster.Validate(); err != nil {
		return err
	}
	opts := s.WorkloadOptions
	if opts == nil {
		opts = def.NewOptions()
	}
	if err := opts.Validate(workloads.ClusterShape{ZooKeepers: s.Cluster.ZooKeeperNodes, Brokers: s.Cluster.KafkaNodes}); err != nil {
		return err
	}
	if nemesis.RequiresTopic(s.Nemesis) && !opts.UsesKafkaTopic() {
		return fmt.Errorf("kafka-leader aims at the leaders of the workload's Kafka topic, and %s has none: use it with kafka-queue, or choose another shape or target", s.Workload)
	}
	faults := s.faults
	if faults == nil {
		faults = nemesis.Builtin
	}
	nodes := nemesis.PlanInfos(s.Cluster)
	if len(s.Schedule) > 0 {
		return nemesis.ValidateSchedule(s.Schedule, s.Nemesis, nodes, faults())
	}
	if err := s.Nemesis.Validate(nodes, faults()); err != nil {
		return err
	}
	return nil
}

// UnmarshalJSON reads a stored spec, decoding the workload's options as
// the workload's own type. A spec stored before the registry kept them
// under the workload's LegacyKey; they are read from there.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type plain Spec // Spec's fields without its methods
	raw := struct {
		*plain
		WorkloadOptions json.RawMessage `json:"workload_options"`
	}{plain: (*plain)(s)}
	*s = Spec{}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if s.Workload == "" {
		s.Workload = DefaultWorkload
	}
	def, err := registry.Lookup(s.Workload)
	if err != nil {
		return fmt.Errorf("workload: %w", err)
	}
	opts := raw.WorkloadOptions
	if len(opts) == 0 && def.LegacyKey != "" {
		var legacy map[string]json.RawMessage
		if err := json.Unmarshal(b, &legacy); err == nil {
			opts = legacy[def.LegacyKey]
		}
	}
	s.WorkloadOptions = def.NewOptions()
	if len(opts) > 0 && string(opts) != "null" {
		if err := json.Unmarshal(opts, s.WorkloadOptions); err != nil {
			return fmt.Errorf("%s's options: %w", s.Workload, err)
		}
	}
	return nil
}
