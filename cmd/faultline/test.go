package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zkregister"
	"github.com/spf13/cobra"
)

func newTestCommand(g *globalFlags) *cobra.Command {
	var spec runner.Spec
	var seed uint64
	var testCount int
	var reads, nemesisKinds, roles, packet, acks, consumer string
	var opTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run a test: bring a cluster up, drive a workload, record the history, check it, store the run",
		Long: `Runs a test against a real cluster and checks its history. Prints a live
progress line, then a summary; the run's directory (store/<test>/<start>/,
store/latest) holds test.json, history.jsonl, results.json, the checker's
visualizations, faultline.log and each node's config and server log.

Workloads:
  zk-register   znodes read, written and compare-and-set on their version by
                many sessions; checked for linearizability with porcupine.
  kafka-queue   unique values sent to a fresh topic's partitions and polled
                back, then every partition read to its end after healing;
                checked for lost, duplicated, reordered and unexpected
                messages.

Exit code: 0 valid, 1 invalid, 2 unknown, 3 the test could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := checkClusterFlags(spec.Cluster); err != nil {
				return err
			}
			if testCount < 1 {
				return fmt.Errorf("--test-count %d is out of range: give at least 1", testCount)
			}
			spec.ZKRegister.Reads = zkregister.ReadMode(reads)
			spec.ZKRegister.OpTimeout, spec.KafkaQueue.OpTimeout = opTimeout, opTimeout
			spec.KafkaQueue.Acks = kafkaqueue.Acks(acks)
			spec.KafkaQueue.Consumer = kafkaqueue.ConsumerMode(consumer)
			if spec.Nemesis.Kinds, err = nemesis.ParseKinds(nemesisKinds); err != nil {
				return err
			}
			if spec.Nemesis.Roles, err = parseRoles(roles); err != nil {
				return err
			}
			if spec.Nemesis.Packet.Behaviours, err = nemesis.ParseBehaviours(packet); err != nil {
				return err
			}
			spec.Logger = log
			seeded := cmd.Flags().Changed("seed")
			spec.Progress = progressPrinter(cmd.ErrOrStderr())
			if err := spec.Defaults().Validate(); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			out := cmd.OutOrStdout()
			for i := 1; i <= testCount; i++ {
				spec.Seed = seed
				if !seeded {
					spec.Seed = randomSeed()
				}
				if testCount > 1 {
					fmt.Fprintf(out, "test %d of %d, seed %d\n", i, testCount, spec.Seed)
				}
				o, err := runner.Run(ctx, spec)
				if err != nil {
					if o.Dir != "" {
						return fmt.Errorf("%w (the run's files are in %s)", err, o.Dir)
					}
					return err
				}
				fmt.Fprintf(out, "%d ops in %s, %.0f ops/s, seed %d\n", o.Ops, spec.Defaults().TimeLimit, o.OpsPerSecond, spec.Seed)
				results.PrintSummary(out, o.Result, o.Dir)
				if o.Result.Valid != checker.Valid {
					return verdictExit(o.Result.Valid)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Workload, "workload", runner.WorkloadZKRegister, "the workload: zk-register or kafka-queue")
	f.StringVar(&spec.Name, "name", "", "the test's name in the store (default: the workload's)")
	f.DurationVar(&spec.TimeLimit, "time-limit", 60*time.Second, "how long the workload runs")
	f.IntVar(&spec.Concurrency, "concurrency", 10, "client processes")
	f.Float64Var(&spec.Rate, "rate", 0, "ops per second across all clients; 0 for as fast as they go")
	f.Uint64Var(&seed, "seed", 0, "seed of every random choice (default: random, always recorded)")
	f.IntVar(&testCount, "test-count", 1, "run the test N times, stopping at the first that is not valid")
	f.StringVar(&spec.Store, "store", "store", "the store directory")
	f.DurationVar(&spec.CheckTimeout, "check-timeout", 5*time.Minute, "how long the checker may take before the verdict is unknown")
	f.BoolVar(&spec.KeepData, "keep-data", false, "keep the nodes' data directories in the store")
	f.IntVar(&spec.ZKRegister.Keys, "keys", 5, "zk-register: keys in use at once")
	f.IntVar(&spec.ZKRegister.OpsPerKey, "ops-per-key", 200, "zk-register: ops on a key before it is retired for a fresh one")
	f.StringVar(&reads, "reads", "sync", "zk-register: reads are sync (sync, then get), local (plain get) or none")
	f.DurationVar(&opTimeout, "op-timeout", 0, "an op not done by then is info (default 5s for zk-register, 10s for kafka-queue)")
	f.IntVar(&spec.KafkaQueue.Partitions, "partitions", 3, "kafka-queue: the topic's partitions")
	f.IntVar(&spec.KafkaQueue.ReplicationFactor, "replication-factor", 3, "kafka-queue: the topic's replication factor")
	f.IntVar(&spec.KafkaQueue.MinISR, "min-isr", 2, "kafka-queue: the topic's min.insync.replicas")
	f.StringVar(&acks, "acks", "all", "kafka-queue: acks all (every in-sync replica) or leader (acks=1)")
	f.StringVar(&spec.KafkaQueue.Idempotence, "idempotence", "", "kafka-queue: idempotent producer on or off (default on; off with --acks leader)")
	f.BoolVar(&spec.KafkaQueue.UncleanLeaderElection, "unclean-leader-election", false, "kafka-queue: the topic's unclean.leader.election.enable")
	f.StringVar(&consumer, "consumer", "assign", "kafka-queue: consumers assign every partition and read from the start, or subscribe to a consumer group")
	f.StringVar(&nemesisKinds, "nemesis", "none", "faults: a comma list of partition, kill, pause, packet; or none, all")
	f.DurationVar(&spec.Nemesis.Interval, "nemesis-interval", 10*time.Second, "time from a fault's start to its stop, and again to the next")
	f.StringVar(&spec.Nemesis.Partition, "partition", "", "partition shape: one, halves, majorities-ring, bridge, zk-leader, kafka-controller, kafka-leader, zk-kafka (default: one of the first four, drawn each time)")
	f.StringVar(&spec.Nemesis.Grudge, "grudge", "", "an explicit partition, e.g. 'zk1,kafka1|zk2,zk3,kafka2,kafka3': each side sees only itself")
	f.StringVar(&spec.Nemesis.Target, "targets", "one", "what kill, pause and packet faults hit: one, minority, majority, all, zk-leader, kafka-controller, kafka-leader, or node names")
	f.StringVar(&roles, "nemesis-roles", "zk,kafka", "restrict kill, pause and packet targets to zk, kafka or both")
	f.StringVar(&packet, "packet", "delay", "packet behaviours: a comma list of delay, loss, duplicate, reorder, corrupt (delay 50ms±10ms, 20% for the others)")
	f.DurationVar(&spec.QuietPeriod, "quiet-period", 5*time.Second, "after healing, how long to leave the cluster alone before the final reads")
	addClusterFlags(cmd, &spec.Cluster)
	return cmd
}

// parseRoles reads --nemesis-roles.
func parseRoles(s string) ([]cluster.Role, error) {
	var roles []cluster.Role
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "zk", "zookeeper":
			roles = append(roles, cluster.RoleZooKeeper)
		case "kafka":
			roles = append(roles, cluster.RoleKafka)
		default:
			return nil, fmt.Errorf("--nemesis-roles %q: %q is not a role: give zk, kafka or zk,kafka", s, part)
		}
	}
	return roles, nil
}

// verdictExit turns a verdict into the command's exit code.
// malformed returns the error of the first checker that could not read the
// history, when no checker reached a verdict: the input is bad, exit 3.
func malformed(res checker.Result) string {
	if res.Valid != checker.Unknown {
		return ""
	}
	if res.Error != "" {
		return res.Error
	}
	for _, r := range res.Results {
		if msg := malformed(r); msg != "" {
			return msg
		}
	}
	return ""
}

func verdictExit(v checker.Validity) error {
	switch v {
	case checker.Valid:
		return nil
	case checker.Invalid:
		return &exitError{code: exitInvalid}
	default:
		return &exitError{code: exitUnknown}
	}
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 1 // fits an int64 for JSON readers
}

// progressPrinter rewrites one line on a terminal, and prints a line every
// ten seconds elsewhere.
func progressPrinter(w io.Writer) runner.ProgressSink {
	tty := isTerminal(w)
	var last time.Duration = -1
	return func(p runner.Progress) {
		if tty {
			end := ""
			if p.Phase == "done" {
				end = "\n"
			}
			fmt.Fprintf(w, "\r\033[K%s%s", p, end)
			return
		}
		if p.Phase == "done" || last < 0 || p.Elapsed-last >= 10*time.Second {
			fmt.Fprintln(w, p)
			last = p.Elapsed
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newCheckCommand() *cobra.Command {
	var opts checker.Options
	var workload string
	cmd := &cobra.Command{
		Use:   "check DIR|FILE",
		Short: "Check a stored history again: no cluster, no root, no network",
		Long: `Checks a stored run's history again and prints the same summary as the
run, with the same exit code: 0 valid, 1 invalid, 2 unknown, 3 could not
check. DIR is a run's directory (or store/latest); FILE a history.jsonl.
The workload comes from the run's test.json, else from --workload.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, dir, err := results.Locate(args[0])
			if err != nil {
				return err
			}
			details := map[string]any{}
			if !cmd.Flags().Changed("workload") {
				if spec, err := readTestSpec(dir); err == nil {
					workload = spec.Workload
					if workload == runner.WorkloadKafkaQueue {
						details["acks"] = string(spec.KafkaQueue.Acks)
						details["consumer"] = string(spec.KafkaQueue.Consumer)
					} else {
						details["reads"] = string(spec.ZKRegister.Reads)
					}
				}
			}
			ctx, stop := signalContext()
			defer stop()
			res, err := runner.Check(ctx, path, workload, details, opts)
			if err != nil {
				return fmt.Errorf("check %s: %w", path, err)
			}
			if msg := malformed(res); msg != "" {
				return fmt.Errorf("check %s: %s (the history format is in docs/history.md)", path, msg)
			}
			if opts.OutDir != "" {
				if err := results.WriteJSON(filepath.Join(opts.OutDir, results.ResultsFile), res); err != nil {
					return err
				}
			}
			results.PrintSummary(cmd.OutOrStdout(), res, dir)
			return verdictExit(res.Valid)
		},
	}
	cmd.Flags().StringVar(&workload, "workload", runner.WorkloadZKRegister, "the workload whose checkers to run, when there is no test.json")
	cmd.Flags().DurationVar(&opts.Timeout, "check-timeout", 5*time.Minute, "how long the checker may take before the verdict is unknown")
	cmd.Flags().StringVar(&opts.OutDir, "out", "", "write results.json and visualizations of bad keys into this directory")
	return cmd
}

// readTestSpec reads a run's test.json.
func readTestSpec(dir string) (runner.Spec, error) {
	var spec runner.Spec
	b, err := os.ReadFile(filepath.Join(dir, results.TestFile))
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, errors.New("test.json is damaged")
	}
	return spec, nil
}
