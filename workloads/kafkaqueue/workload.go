package kafkaqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Definition registers kafka-queue.
var Definition = workloads.Definition{
	Name:    "kafka-queue",
	Summary: "unique values sent to a fresh topic and polled back; checked for lost, duplicated and reordered messages",
	Help: `unique values sent to a fresh topic's partitions and polled
back, then every partition read to its end after healing;
checked for lost, duplicated, reordered and unexpected
messages.`,
	NewOptions: func() workloads.Options { return DefaultOptions() },
	New: func(env workloads.Env, o workloads.Options) (workloads.Workload, error) {
		return New(env.Cluster, *o.(*Options), env.Seed, env.Concurrency, env.Log)
	},
	// Brokers, and their metadata layer: ZooKeeper, or KRaft controllers.
	Roles:      []cluster.Role{cluster.RoleKafka, cluster.RoleZooKeeper, cluster.RoleController},
	KafkaNodes: 3,
	LegacyKey:  "kafka_queue",
}

// Workload is the kafka-queue workload on one cluster.
type Workload struct {
	opts  Options
	c     cluster.Cluster
	log   *slog.Logger
	topic string
	admCl *kgo.Client
	adm   *kadm.Client

	// concurrency is the runner's number of workers: process p belongs to
	// worker p modulo concurrency, which decides its role.
	concurrency int
	seed        uint64

	mu   sync.Mutex
	rngs map[history.Process]*rand.Rand // per process, from the seed
	seq  map[history.Process]int64
}

var _ workloads.Workload = (*Workload)(nil)

// New makes the workload for cluster c, driven by concurrency workers; the
// seed drives which partition each process sends to. The topic is named
// after the cluster's run.
func New(c cluster.Cluster, o Options, seed uint64, concurrency int, log *slog.Logger) (*Workload, error) {
	o.Defaults()
	if err := o.Validate(workloads.ClusterShape{ZooKeepers: len(c.ZooKeepers()), Brokers: len(c.Brokers())}); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Workload{opts: o, c: c, log: log, topic: "faultline-queue-" + c.ID(),
		concurrency: max(concurrency, 1), seed: seed,
		rngs: map[history.Process]*rand.Rand{}, seq: map[history.Process]int64{}}, nil
}

// Topic is the run's topic.
func (w *Workload) Topic() string { return w.topic }

// Setup creates the topic and waits until every partition has a leader
// and all its replicas in sync.
func (w *Workload) Setup(ctx context.Context) error {
	cl, err := kgo.NewClient(w.commonOpts()...)
	if err != nil {
		return fmt.Errorf("kafka-queue: admin client: %w", err)
	}
	w.admCl, w.adm = cl, kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	minISR := strconv.Itoa(w.opts.MinISR)
	unclean := strconv.FormatBool(w.opts.UncleanLeaderElection)
	configs := map[string]*string{
		"min.insync.replicas":            &minISR,
		"unclean.leader.election.enable": &unclean,
	}
	for {
		resp, err := w.adm.CreateTopic(ctx, int32(w.opts.Partitions), int16(w.opts.ReplicationFactor), configs, w.topic)
		if err == nil {
			err = resp.Err
		}
		if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
			break
		}
		w.log.Debug("create topic failed, retrying", "topic", w.topic, "err", err)
		if !sleepCtx(ctx, 250*time.Millisecond) {
			return fmt.Errorf("kafka-queue: create topic %s: %w", w.topic, err)
		}
	}
	for {
		st, err := w.topicState(ctx)
		if err == nil && st.inSync {
			w.log.Info("topic ready", "topic", w.topic, "partitions", w.opts.Partitions, "replication_factor", w.opts.ReplicationFactor, "min_isr", w.opts.MinISR)
			return nil
		}
		if !sleepCtx(ctx, 250*time.Millisecond) {
			return fmt.Errorf("kafka-queue: topic %s has no leader or replicas out of sync after 90s: %v", w.topic, firstErr(err, st.why))
		}
	}
}

// topicState is what the brokers say of the topic now.
type topicState struct {
	inSync bool            // every partition has a leader and every replica in sync
	why    error           // why not
	ends   map[int32]int64 // high watermarks
}

func (w *Workload) topicState(ctx context.Context) (topicState, error) {
	st := topicState{ends: map[int32]int64{}}
	md, err := w.adm.Metadata(ctx, w.topic)
	if err != nil {
		return st, err
	}
	td, ok := md.Topics[w.topic]
	if !ok || td.Err != nil {
		return st, fmt.Errorf("topic %s not in metadata: %v", w.topic, td.Err)
	}
	if len(td.Partitions) != w.opts.Partitions {
		st.why = fmt.Errorf("%d of %d partitions known", len(td.Partitions), w.opts.Partitions)
		return st, nil
	}
	for _, p := range td.Partitions.Sorted() {
		switch {
		case p.Err != nil:
			st.why = fmt.Errorf("partition %d: %w", p.Partition, p.Err)
		case p.Leader < 0:
			st.why = fmt.Errorf("partition %d has no leader", p.Partition)
		case len(p.ISR) < len(p.Replicas):
			st.why = fmt.Errorf("partition %d: in-sync replicas %v of %v", p.Partition, p.ISR, p.Replicas)
		}
		if st.why != nil {
			return st, nil
		}
	}
	ends, err := w.adm.ListEndOffsets(ctx, w.topic)
	if err != nil {
		return st, err
	}
	if err := ends.Error(); err != nil {
		st.why = err
		return st, nil
	}
	ends.Each(func(o kadm.ListedOffset) { st.ends[o.Partition] = o.Offset })
	st.inSync = true
	return st, nil
}

// isConsumer says whether process p polls; the others send. The worker
// of p (p modulo the concurrency) decides: workers 3, 7, 11, ... poll, so
// about one in four, and none below a concurrency of 4 (then only the final
// reads read). A retired process's successor keeps its role.
func (w *Workload) isConsumer(p history.Process) bool {
	return int(p)%w.concurrency%4 == 3
}

// Next returns p's next op: a send of a fresh value to a random partition,
// or a poll.
func (w *Workload) Next(ctx context.Context, p history.Process) (history.Op, error) {
	if w.isConsumer(p) {
		req := pollRequest{Mode: string(w.opts.Consumer)}
		if w.opts.Consumer == ConsumerAssign {
			req.Partitions = w.partitions()
		}
		return history.Op{Type: history.Invoke, F: "poll", Value: mustJSON(req)}, nil
	}
	w.mu.Lock()
	rng := w.rngs[p]
	if rng == nil {
		rng = rand.New(rand.NewPCG(w.seed, 0x71756575^uint64(p))) // "queue"
		w.rngs[p] = rng
	}
	part := rng.IntN(w.opts.Partitions)
	w.seq[p]++
	seq := w.seq[p]
	w.mu.Unlock()
	return history.Op{Type: history.Invoke, F: "send", Key: strconv.Itoa(part),
		Value: mustJSON(sendValue{Value: fmt.Sprintf("%d-%d", p, seq)})}, nil
}

func (w *Workload) partitions() []int32 {
	ps := make([]int32, w.opts.Partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

// Completed needs nothing: sends do not depend on what came before.
func (w *Workload) Completed(history.Op) {}

// Client opens a producer or a consumer for process p.
func (w *Workload) Client(ctx context.Context, p history.Process) (workloads.Client, error) {
	if !w.isConsumer(p) {
		tries := &produceAccounting{}
		cl, err := kgo.NewClient(append(w.producerOpts(), kgo.WithHooks(tries), kgo.Dialer(workloads.DialFor(w.c, p)))...)
		if err != nil {
			return nil, fmt.Errorf("kafka-queue: producer: %w", err)
		}
		return &producer{cl: cl, tries: tries, idempotent: w.opts.Idempotent(), timeout: w.opts.OpTimeout}, nil
	}
	opts := append(w.commonOpts(),
		kgo.Dialer(workloads.DialFor(w.c, p)), // from the process's client host, if any
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if w.opts.Consumer == ConsumerAssign {
		offsets := map[int32]kgo.Offset{}
		for _, part := range w.partitions() {
			offsets[part] = kgo.NewOffset().AtStart()
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.topic: offsets}))
	} else {
		opts = append(opts,
			kgo.ConsumerGroup("faultline-queue-"+w.c.ID()),
			kgo.ConsumeTopics(w.topic),
			kgo.SessionTimeout(10*time.Second),
			kgo.HeartbeatInterval(time.Second),
			kgo.AutoCommitInterval(time.Second),
		)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka-queue: consumer: %w", err)
	}
	return &consumer{cl: cl, mode: string(w.opts.Consumer), wait: min(time.Second, w.opts.OpTimeout), log: w.log}, nil
}

// Details describe a kafka-queue run.
type Details struct {
	Topic                 string       `json:"topic"`
	Partitions            int          `json:"partitions"`
	ReplicationFactor     int          `json:"replication_factor"`
	MinISR                int          `json:"min_isr"`
	Acks                  Acks         `json:"acks"`
	Idempotence           bool         `json:"idempotence"`
	UncleanLeaderElection bool         `json:"unclean_leader_election"`
	Consumer              ConsumerMode `json:"consumer"`
}

// Details describe the run in results.
func (w *Workload) Details() any {
	return Details{Topic: w.topic, Partitions: w.opts.Partitions, ReplicationFactor: w.opts.ReplicationFactor,
		MinISR: w.opts.MinISR, Acks: w.opts.Acks, Idempotence: w.opts.Idempotent(),
		UncleanLeaderElection: w.opts.UncleanLeaderElection, Consumer: w.opts.Consumer}
}

// Close closes the admin client.
func (w *Workload) Close() error {
	if w.admCl != nil {
		cl := w.admCl
		w.admCl = nil
		go cl.Close()
	}
	return nil
}

func parsePartition(key string) (int32, error) {
	p, err := strconv.ParseInt(key, 10, 32)
	if err != nil || p < 0 {
		return 0, fmt.Errorf("key %q is not a partition number", key)
	}
	return int32(p), nil
}

// sleepCtx sleeps for d, or until ctx ends (then it returns false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return errors.New("unknown")
}
