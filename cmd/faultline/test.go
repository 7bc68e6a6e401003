package main

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/backends"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/netfault"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/runner"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/registry"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ownedFlags remembers which workload or backend each of their own flags
// belongs to, so that a flag of another one is refused.
type ownedFlags struct {
	owner map[string]string // flag name → owner's name
}

// add binds an owner's flags to fs through a set of their own, recording
// the owner of each.
func (o *ownedFlags) add(fs *pflag.FlagSet, owner string, bind func(*pflag.FlagSet)) {
	own := pflag.NewFlagSet(owner, pflag.ContinueOnError)
	bind(own)
	own.VisitAll(func(f *pflag.Flag) {
		if prev, dup := o.owner[f.Name]; dup {
			panic(fmt.Sprintf("flag --%s is both %s's and %s's: give each its own name", f.Name, prev, owner))
		}
		o.owner[f.Name] = owner
	})
	fs.AddFlagSet(own)
}

// foreign returns an error for the first flag set on the command line
// that belongs to an owner other than chosen.
func (o *ownedFlags) foreign(fs *pflag.FlagSet, chosen, what string) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if owner, ok := o.owner[f.Name]; ok && owner != chosen && err == nil {
			err = fmt.Errorf("--%s is %s's and does nothing with %s %s: drop it, or choose --%s %s", f.Name, owner, what, chosen, what, owner)
		}
	})
	return err
}

// testFlags are the flags of `faultline test`.
type testFlags struct {
	spec      runner.Spec
	seed      uint64
	testCount int
	nemesis   string
	roles     string
	packet    string
	wopts     map[string]workloads.Options
	bopts     map[string]cluster.BackendOptions
	wflags    ownedFlags // the workloads' own flags
	bflags    ownedFlags // the backends' own flags
	schedule  string     // --schedule FILE
	replay    string     // --replay DIR
	replayed  *runner.Record
	// noObserver turns the leadership observer off (--no-observer).
	noObserver bool
}

func newTestCommand(g *globalFlags) *cobra.Command {
	var tf *testFlags
	var junit junitOut
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run a test: bring a cluster up, drive a workload, record the history, check it, store the run",
		Long:  testHelp(),
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			defer func() {
				if jerr := junit.write(cmp.Or(tf.spec.Name, tf.spec.Workload), err); jerr != nil && err == nil {
					err = jerr
				}
			}()
			term := newTerminal(cmd.ErrOrStderr()) // log lines and the progress line, never mixed
			log, err := g.logger(term)
			if err != nil {
				return err
			}
			if err := tf.toSpec(cmd.Flags()); err != nil {
				return err
			}
			spec := tf.spec
			spec.Logger = log
			spec.Progress = term.progress
			ctx, stop := signalContext()
			defer stop()
			out := cmd.OutOrStdout()
			seeded := cmd.Flags().Changed("seed") || tf.replayed != nil
			for i := 1; i <= tf.testCount; i++ {
				spec.Seed = tf.seed
				if !seeded {
					spec.Seed = randomSeed()
				}
				if tf.testCount > 1 {
					fmt.Fprintf(out, "test %d of %d, seed %d\n", i, tf.testCount, spec.Seed)
				}
				o, err := runner.Run(ctx, spec)
				if err != nil {
					junit.harness(cmp.Or(spec.Name, spec.Workload), err, o.Dir)
					if o.Dir != "" {
						return fmt.Errorf("%w (the run's files are in %s)", err, o.Dir)
					}
					return err
				}
				junit.run(o.Report, o.Dir)
				results.PrintSummary(out, o.Report, o.Dir)
				if tf.replayed != nil {
					printReplay(out, tf.replayed.Dir, o.Dir)
				}
				if o.Report.Valid != checker.Valid {
					return verdictExit(o.Report.Valid)
				}
			}
			return nil
		},
	}
	tf = bindTestFlags(cmd.Flags())
	junit.flag(cmd.Flags())
	return cmd
}

// bindTestFlags binds the flags of a test (the command's own, each
// workload's, each backend's) to a testFlags.
func bindTestFlags(f *pflag.FlagSet) *testFlags {
	tf := &testFlags{wopts: map[string]workloads.Options{}, bopts: map[string]cluster.BackendOptions{},
		wflags: ownedFlags{owner: map[string]string{}}, bflags: ownedFlags{owner: map[string]string{}}}
	s := &tf.spec
	f.StringVar(&s.Workload, "workload", runner.DefaultWorkload, "the workload: "+workloadNames())
	f.StringVar(&s.Name, "name", "", "the test's name in the store (default: the workload's)")
	f.DurationVar(&s.TimeLimit, "time-limit", 60*time.Second, "how long the workload runs")
	f.IntVar(&s.Concurrency, "concurrency", 10, "client processes, 1 to 1000")
	f.Float64Var(&s.Rate, "rate", 0, "ops per second across all clients; 0 for as fast as they go")
	f.Uint64Var(&tf.seed, "seed", 0, "seed of every random choice (default: random, always recorded)")
	f.IntVar(&tf.testCount, "test-count", 1, "run the test N times, stopping at the first that is not valid")
	f.StringVar(&s.Store, "store", "store", "the store directory")
	f.DurationVar(&s.CheckTimeout, "check-timeout", 5*time.Minute, "how long the checkers may take before the verdict is unknown")
	f.DurationVar(&s.OpTimeout, "op-timeout", 0, "an op not done by then is info (default: the workload's; 5s for zk-register, 10s for kafka-queue)")
	f.DurationVar(&s.QuietPeriod, "quiet-period", 5*time.Second, "after healing, how long to leave the cluster alone before the final reads")
	f.BoolVar(&s.Cluster.KeepData, "keep-data", false, "keep the nodes' data directories in the store")
	f.BoolVar(&tf.noObserver, "no-observer", false, "do not run the leadership observer, which asks each node about once a second what it believes about leadership (the leadership finding, timeline.png)")
	for _, def := range registry.All() {
		o := def.NewOptions()
		tf.wopts[def.Name] = o
		tf.wflags.add(f, def.Name, o.Flags)
	}
	f.StringVar(&tf.nemesis, "nemesis", "none", "faults: a comma list of "+faultNames()+"; or none, all")
	f.DurationVar(&s.Nemesis.Interval, "nemesis-interval", 10*time.Second, "time from a fault's start to its stop, and again to the next")
	f.StringVar(&s.Nemesis.Partition, "partition", "", "partition shape: one, halves, majorities-ring, bridge, zk-leader, zk-leader-oneway (the leader's packets to the other ZooKeeper nodes dropped), kafka-controller, kraft-leader (the KRaft quorum's leader), controllers (KRaft controllers cut from the rest), kafka-leader, zk-kafka, client (a client host cut off from the servers), client-from-leader (from the ZooKeeper leader) (default: one of the first four, drawn each time)")
	f.StringVar(&s.Nemesis.Grudge, "grudge", "", "an explicit partition, e.g. 'zk1,kafka1|zk2,zk3,kafka2,kafka3': each side sees only itself")
	f.StringVar(&s.Nemesis.Target, "targets", "one", "what kill, pause and packet faults hit: one, minority, majority, all, zk-leader, kafka-controller, kraft-leader, kafka-leader, or node names")
	f.StringVar(&tf.roles, "nemesis-roles", "", "the roles faults aim at: zk, kafka or both (default: the roles the workload exercises; zk for zk-register)")
	f.StringVar(&tf.schedule, "schedule", "", "run this fault schedule instead of drawing one: a JSON file of steps (docs/schedules.md), or a run's test.json")
	f.StringVar(&tf.replay, "replay", "", "repeat a stored run: its options, seed, versions and fault schedule (give its directory, e.g. store/latest)")
	f.StringVar(&tf.packet, "packet", "delay", "packet behaviours: a comma list of delay, loss, duplicate, reorder, corrupt (delay 50ms±10ms, 20% for the others)")
	addClusterFlags(f, &s.Cluster)
	f.Lookup("kafka-nodes").Usage = fmt.Sprintf("Kafka brokers, 0 (none) to %d (default: the workload's; none for zk-register, 3 for kafka-queue)", cluster.MaxNodesPerRole)
	f.StringVar(&s.Cluster.Backend, "backend", cluster.DefaultBackend, "where the nodes run: "+backendNames())
	for _, b := range backends.All() {
		o := b.NewOptions()
		tf.bopts[b.Name()] = o
		tf.bflags.add(f, b.Name(), o.Flags)
	}
	return tf
}

// toSpec turns the parsed flags into a validated spec. Values are checked
// as given: a zero is the user's choice, never "the default".
func (tf *testFlags) toSpec(f *pflag.FlagSet) error {
	if tf.replay != "" {
		return tf.replaySpec(f)
	}
	s := &tf.spec
	if strings.TrimSpace(s.Workload) == "" {
		return fmt.Errorf("--workload is empty: choose %s", workloadNames())
	}
	def, err := registry.Lookup(s.Workload)
	if err != nil {
		return err
	}
	if err := tf.wflags.foreign(f, def.Name, "workload"); err != nil {
		return err
	}
	if _, err := backends.Get(s.Cluster.Backend); err != nil {
		return err
	}
	if err := tf.bflags.foreign(f, s.Cluster.Backend, "backend"); err != nil {
		return err
	}
	if tf.testCount < 1 || tf.testCount > 100000 {
		return fmt.Errorf("--test-count %d is out of range: give 1 to 100000", tf.testCount)
	}
	if f.Changed("op-timeout") && s.OpTimeout <= 0 {
		return fmt.Errorf("--op-timeout %s is not a timeout: give a positive duration such as 5s", s.OpTimeout)
	}
	s.WorkloadOptions = tf.wopts[def.Name]
	observe := !tf.noObserver
	s.Observe = &observe
	if !f.Changed("kafka-nodes") {
		s.Cluster.KafkaNodes = def.KafkaNodes
	}
	if f.Changed("op-timeout") {
		s.WorkloadOptions.SetOpTimeout(s.OpTimeout)
	}
	bo := tf.bopts[s.Cluster.Backend]
	if err := bo.Validate(); err != nil {
		return err
	}
	if s.Cluster.BackendOptions, err = json.Marshal(bo); err != nil {
		return err
	}
	modeFlags(f, &s.Cluster, slices.Contains(def.Roles, cluster.RoleZooKeeper) && !slices.Contains(def.Roles, cluster.RoleController))
	if err := checkClusterFlags(s.Cluster); err != nil {
		return err
	}
	faults := nemesis.Builtin()
	if s.Nemesis.Kinds, err = nemesis.ParseKinds(tf.nemesis, faults); err != nil {
		return err
	}
	s.Nemesis.Roles = slices.Clone(def.Roles)
	if f.Changed("nemesis-roles") {
		if s.Nemesis.Roles, err = nemesis.ParseRoles(tf.roles); err != nil {
			return err
		}
	}
	if s.Nemesis.Packet.Behaviours, err = netfault.ParseBehaviours(tf.packet); err != nil {
		return fmt.Errorf("--packet: %w", err)
	}
	if s.Nemesis.Packet.Behaviours == 0 {
		return fmt.Errorf("--packet %q shapes nothing: choose some of delay, loss, duplicate, reorder, corrupt, or all", tf.packet)
	}
	if tf.schedule != "" {
		for _, name := range []string{"nemesis", "nemesis-interval", "partition", "grudge", "targets"} {
			if f.Changed(name) {
				return fmt.Errorf("--%s draws a schedule, and --schedule gives one: drop --%s", name, name)
			}
		}
		if s.Schedule, err = nemesis.ReadScheduleFile(tf.schedule); err != nil {
			return err
		}
		s.Nemesis.Kinds = nemesis.ScheduleKinds(s.Schedule)
	} else if err := unusedNemesisFlags(f, s.Nemesis.Kinds, faults); err != nil {
		return err
	}
	if len(s.Nemesis.Kinds) > 0 && s.Nemesis.Interval < 100*time.Millisecond {
		return fmt.Errorf("--nemesis-interval %s is too short: give at least 100ms", s.Nemesis.Interval)
	}
	// The cluster's and the nemesis's options have defaults no flag sets
	// (the flags refuse zeros themselves); the rest is checked as given,
	// before defaults could mask a zero.
	s.Cluster = s.Cluster.Defaults()
	s.Nemesis = s.Nemesis.Defaults()
	if err := s.Validate(); err != nil {
		return err
	}
	*s = s.Defaults()
	return s.Validate()
}

// replaySpec makes the spec of a replay: the stored run's, with its
// schedule as it ran. Only flags that do not change the test may be given
// with --replay.
func (tf *testFlags) replaySpec(f *pflag.FlagSet) error {
	allowed := []string{"replay", "store", "test-count", "junit", "check-timeout", "cache-dir", "log-level"}
	var err error
	f.Visit(func(fl *pflag.Flag) {
		if err == nil && !slices.Contains(allowed, fl.Name) {
			err = fmt.Errorf("--%s with --replay: a replay repeats the stored run's options; drop --%s (or run without --replay)", fl.Name, fl.Name)
		}
	})
	if err != nil {
		return err
	}
	rec, err := runner.ReadRecord(tf.replay)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("--replay %s: no test.json there: give a run's directory, e.g. store/latest", tf.replay)
		}
		return fmt.Errorf("--replay: %w", err)
	}
	spec := rec.Spec
	spec.Schedule = rec.Schedule
	if len(spec.Nemesis.Kinds) > 0 && len(spec.Schedule) == 0 {
		return fmt.Errorf("--replay %s: the run asked for faults but its test.json records no schedule (the run failed before drawing one?): nothing to repeat", tf.replay)
	}
	if f.Changed("store") {
		spec.Store = tf.spec.Store
	}
	if f.Changed("check-timeout") {
		spec.CheckTimeout = tf.spec.CheckTimeout
	}
	if f.Changed("cache-dir") {
		spec.Cluster.CacheDir = tf.spec.Cluster.CacheDir
	}
	// The servers the run had, even where the defaults have moved since.
	if rec.Versions.Kafka != "" {
		spec.Cluster.KafkaVersion = rec.Versions.Kafka
	}
	if rec.Versions.ZooKeeper != "" {
		spec.Cluster.ZooKeeperVersion = rec.Versions.ZooKeeper
	}
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("--replay %s: %w", tf.replay, err)
	}
	tf.spec = spec.Defaults()
	tf.seed = spec.Seed
	tf.replayed = &rec
	return nil
}

// unusedNemesisFlags refuses a nemesis flag that no requested fault reads:
// it would change nothing, and the run would look as if it had.
func unusedNemesisFlags(f *pflag.FlagSet, kinds []nemesis.Kind, faults []nemesis.Fault) error {
	used := nemesis.FlagsUsed(kinds, faults)
	all := nemesis.FlagsUsed(nemesis.Kinds(faults), faults)
	all = append(all, "nemesis-interval")
	if len(kinds) > 0 {
		used = append(used, "nemesis-interval")
	}
	for _, name := range all {
		if !f.Changed(name) || slices.Contains(used, name) {
			continue
		}
		if len(kinds) == 0 {
			return fmt.Errorf("--%s shapes faults, but --nemesis asks for none: add the faults it is for (--nemesis ...), or drop it", name)
		}
		return fmt.Errorf("--%s does nothing with --nemesis %s: no fault asked for reads it; drop it, or add the fault it is for", name, kindsText(kinds))
	}
	return nil
}

func kindsText(kinds []nemesis.Kind) string {
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ",")
}

// testHelp is the test command's long help, from the registered workloads
// and faults.
func testHelp() string {
	var b strings.Builder
	b.WriteString(`Runs a test against a real cluster and checks its history. Prints a live
progress line, then a summary; the run's directory (store/<test>/<start>/,
store/latest) holds test.json, history.jsonl, results.json, the checkers'
visualizations and plots, faultline.log and each node's config and server log.

Workloads (--workload):
`)
	for _, def := range registry.All() {
		lines := strings.Split(def.Help, "\n")
		fmt.Fprintf(&b, "  %-13s %s\n", def.Name, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "  %-13s %s\n", "", l)
		}
	}
	b.WriteString("\nFaults (--nemesis):\n")
	for _, f := range nemesis.Builtin() {
		fmt.Fprintf(&b, "  %-13s %s\n", f.Kind(), f.Summary())
	}
	b.WriteString("\nBackends (--backend):\n")
	for _, be := range backends.All() {
		fmt.Fprintf(&b, "  %-13s %s\n", be.Name(), be.Summary())
	}
	b.WriteString("\nExit code: 0 valid, 1 invalid, 2 unknown, 3 the test could not run.")
	return b.String()
}

func workloadNames() string {
	var names []string
	for _, d := range registry.All() {
		names = append(names, d.Name)
	}
	return strings.Join(names, " or ")
}

func faultNames() string {
	var names []string
	for _, k := range nemesis.Kinds(nemesis.Builtin()) {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func backendNames() string {
	var names []string
	for _, b := range backends.All() {
		names = append(names, b.Name())
	}
	return strings.Join(names, " or ")
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

// errNoArgs says a command takes no arguments.
var errNoArgs = errors.New("takes no arguments")

// noArgs refuses arguments with the fix.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("`%s` %v (got %q): give options as flags; see `%s --help`", cmd.CommandPath(), errNoArgs, strings.Join(args, " "), cmd.CommandPath())
	}
	return nil
}

// printReplay compares a replay's faults with the stored run's.
func printReplay(out io.Writer, origDir, dir string) {
	orig, _, err := runner.ReadHistory(filepath.Join(origDir, results.HistoryFile), history.ReadOptions{})
	if err != nil {
		fmt.Fprintf(out, "replay: could not read the stored run's history: %v\n", err)
		return
	}
	again, _, err := runner.ReadHistory(filepath.Join(dir, results.HistoryFile), history.ReadOptions{})
	if err != nil {
		fmt.Fprintf(out, "replay: could not read the replay's history: %v\n", err)
		return
	}
	c, err := runner.CompareReplay(orig, again)
	if err != nil {
		fmt.Fprintf(out, "replay: %v\n", err)
		return
	}
	head, lines := c.Summary()
	fmt.Fprintf(out, "replay of %s: %s\n", origDir, head)
	for _, l := range lines {
		fmt.Fprintf(out, "  %s\n", l)
	}
}
