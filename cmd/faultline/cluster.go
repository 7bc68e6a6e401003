package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/backends"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newClusterCommand(g *globalFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Bring up, inspect and remove a real ZooKeeper + Kafka cluster",
	}
	c.AddCommand(newClusterUpCommand(g), newClusterStatusCommand(), newClusterDownCommand(), newClusterExecCommand(), newClusterFetchCommand())
	return c
}

// modeFlags settles the flags whose default depends on the Kafka mode:
// KRaft needs no ZooKeeper (unless needZK, or --zk-nodes says so), and
// ZooKeeper mode has no controllers (unless --controllers says so, which
// Validate then refuses).
func modeFlags(f *pflag.FlagSet, o *cluster.Options, needZK bool) {
	mode := o.KafkaMode
	if mode == "" {
		mode = cluster.Options{KafkaVersion: o.KafkaVersion}.Defaults().KafkaMode
	}
	if mode == cluster.ModeKRaft && !f.Changed("zk-nodes") && !needZK {
		o.ZooKeeperNodes = 0
	}
	if mode != cluster.ModeKRaft && !f.Changed("controllers") {
		o.Controllers = 0
	}
}

// checkClusterFlags rejects what Options.Defaults would otherwise fill in:
// on the command line, a zero is the user's choice, not "unset". Each
// error names its flag.
func checkClusterFlags(o cluster.Options) error {
	if o.ZooKeeperNodes < 0 || o.ZooKeeperNodes > cluster.MaxNodesPerRole || (o.ZooKeeperNodes == 0 && o.KafkaMode != cluster.ModeKRaft && o.KafkaNodes+o.Controllers == 0) {
		return fmt.Errorf("--zk-nodes %d is out of range: choose 1 to %d", o.ZooKeeperNodes, cluster.MaxNodesPerRole)
	}
	if o.KafkaNodes < 0 || o.KafkaNodes > cluster.MaxNodesPerRole {
		return fmt.Errorf("--kafka-nodes %d is out of range: choose 0 (none) to %d", o.KafkaNodes, cluster.MaxNodesPerRole)
	}
	if o.StartTimeout <= 0 {
		return fmt.Errorf("--start-timeout %s is not a timeout: give a positive duration such as 2m", o.StartTimeout)
	}
	if o.ZooKeeperHeapMB <= 0 {
		return fmt.Errorf("--zk-heap %d is out of range: give 32 to 65536 MiB", o.ZooKeeperHeapMB)
	}
	if o.KafkaHeapMB <= 0 {
		return fmt.Errorf("--kafka-heap %d is out of range: give 64 to 65536 MiB", o.KafkaHeapMB)
	}
	return o.Defaults().Validate()
}

// addVersionFlags binds the server versions and where they are kept.
func addVersionFlags(f *pflag.FlagSet, o *cluster.Options) {
	f.StringVar(&o.KafkaVersion, "kafka-version", cluster.DefaultKafkaVersion, "Apache Kafka release (3.x: ZooKeeper mode), fetched from Maven Central")
	f.StringVar(&o.ZooKeeperVersion, "zookeeper-version", cluster.DefaultZooKeeperVersion, "Apache ZooKeeper release, fetched from Maven Central")
	f.StringVar(&o.CacheDir, "cache-dir", "", "where server distributions are kept (default $XDG_CACHE_HOME/faultline or ~/.cache/faultline)")
}

// addClusterFlags binds the flags that shape a cluster to o.
func addClusterFlags(f *pflag.FlagSet, o *cluster.Options) {
	f.IntVar(&o.ZooKeeperNodes, "zk-nodes", 3, fmt.Sprintf("ZooKeeper nodes, 1 to %d (default 3; none in KRaft mode unless the workload needs ZooKeeper)", cluster.MaxNodesPerRole))
	f.IntVar(&o.KafkaNodes, "kafka-nodes", 3, fmt.Sprintf("Kafka brokers, 0 (none) to %d", cluster.MaxNodesPerRole))
	f.StringVar(&o.KafkaMode, "kafka-mode", "", "zk (metadata in ZooKeeper: Kafka 2.x and 3.x) or kraft (a Raft quorum of controllers: 3.3 and later); default: kraft for 4.x, else zk")
	f.IntVar(&o.Controllers, "controllers", 3, fmt.Sprintf("KRaft mode: dedicated controller nodes ctrl1.., 1 to %d; 0 makes every broker a controller too", cluster.MaxNodesPerRole))
	addVersionFlags(f, o)
	f.DurationVar(&o.StartTimeout, "start-timeout", 120*time.Second, "how long to wait for the cluster to become healthy")
	f.IntVar(&o.ZooKeeperHeapMB, "zk-heap", 128, "heap of each ZooKeeper JVM, MiB")
	f.IntVar(&o.KafkaHeapMB, "kafka-heap", 320, "heap of each Kafka JVM, MiB")
	f.BoolVar(&o.NoCDS, "no-cds", false, "start the server JVMs without class-data-sharing archives (kept per version and java in the cache dir, made by the first run, they halve a JVM's start-up CPU)")
	f.IntVar(&o.ClientHosts, "client-hosts", 0, fmt.Sprintf("client hosts c1..cN, 0 to %d: network hosts of their own that the workload's clients are spread over, which partitions can cut off (--grudge 'c1|zk1,zk2,zk3', --partition client, client-from-leader); 0 runs the clients on the harness's side, which no fault cuts", cluster.MaxNodesPerRole))
	f.StringToStringVar(&o.ZooKeeperConfig, "zk-config", nil, "zoo.cfg properties to add or override, e.g. commitLogCount=100000,snapCount=1000")
	f.StringToStringVar(&o.KafkaConfig, "kafka-config", nil, "broker properties to add or override, e.g. unclean.leader.election.enable=true")
}

// backendFlag binds --backend for the cluster commands.
func backendFlag(f *pflag.FlagSet, name *string) {
	f.StringVar(name, "backend", cluster.DefaultBackend, "the backend the cluster runs on: "+backendNames())
}

// signalContext is cancelled by Ctrl-C or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newClusterUpCommand(g *globalFlags) *cobra.Command {
	var o cluster.Options
	bopts := map[string]cluster.BackendOptions{}
	owned := ownedFlags{owner: map[string]string{}}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring up a cluster in the foreground; Ctrl-C or SIGTERM tears it down",
		Long: `Brings up a ZooKeeper ensemble and Kafka brokers, each node a JVM in its own
network namespace on a private bridge, prints a status table and waits.
Ctrl-C or SIGTERM tears everything down. While it runs, use
'faultline cluster status' and 'faultline cluster exec' from another shell.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			backend, err := backends.Get(o.Backend)
			if err != nil {
				return err
			}
			if err := owned.foreign(cmd.Flags(), backend.Name(), "backend"); err != nil {
				return err
			}
			bo := bopts[backend.Name()]
			if err := bo.Validate(); err != nil {
				return err
			}
			if o.BackendOptions, err = json.Marshal(bo); err != nil {
				return err
			}
			modeFlags(cmd.Flags(), &o, false)
			if err := checkClusterFlags(o); err != nil {
				return err
			}
			o.Logger = log
			flags := cmd.Flags()
			o.KeepDir, _ = flags.GetBool("keep-dir")
			o.KeepData = true
			o.Dir, _ = flags.GetString("dir")
			ctx, stop := signalContext()
			defer stop()
			if err := backend.Preflight(ctx, o); err != nil {
				return err
			}
			began := time.Now()
			c, err := backend.Up(ctx, o)
			if err != nil {
				if ctx.Err() != nil {
					return errors.New("interrupted while bringing the cluster up; what was made is removed")
				}
				return err
			}
			ready := time.Since(began)
			out := cmd.OutOrStdout()
			st, err := c.Status(ctx)
			if err == nil {
				printStatus(out, st)
			}
			fmt.Fprintf(out, "cluster %s ready in %.1fs; Ctrl-C tears it down\n", c.ID(), ready.Seconds())
			<-ctx.Done()
			// Teardown must finish: a second Ctrl-C only says so, it
			// does not kill the harness halfway.
			again := make(chan os.Signal, 1)
			signal.Notify(again, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(again)
			stop()
			go func() {
				for range again {
					fmt.Fprintf(cmd.ErrOrStderr(), "faultline: still tearing down %s; it takes a few seconds\n", c.ID())
				}
			}()
			began = time.Now()
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Close(closeCtx); err != nil {
				return fmt.Errorf("tear down %s: %w; remove what is left with `faultline cluster down %s`", c.ID(), err, c.ID())
			}
			fmt.Fprintf(out, "cluster %s torn down in %.1fs\n", c.ID(), time.Since(began).Seconds())
			return nil
		},
	}
	addClusterFlags(cmd.Flags(), &o)
	backendFlag(cmd.Flags(), &o.Backend)
	for _, b := range backends.All() {
		bo := b.NewOptions()
		bopts[b.Name()] = bo
		owned.add(cmd.Flags(), b.Name(), bo.Flags)
	}
	cmd.Flags().String("dir", "", "work directory for the nodes' data, configs and logs (default: a temporary one, removed at teardown)")
	cmd.Flags().Bool("keep-dir", false, "keep the temporary work directory at teardown")
	return cmd
}

func printStatus(w io.Writer, st cluster.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tADDRESS\tCLIENT\tPROCESS\tSTATE")
	lag := map[int]int64{}
	if st.Quorum != nil {
		for _, v := range st.Quorum.Voters {
			lag[v.ID] = v.Lag
		}
	}
	for _, n := range st.Nodes {
		state := n.Mode
		switch n.Role {
		case cluster.RoleKafka:
			state = "unregistered"
			if n.Registered {
				state = "registered"
			}
			if n.Controller {
				state += ", controller"
			}
		case cluster.RoleController:
			if l, ok := lag[n.ID]; ok && state != "" {
				state += fmt.Sprintf(", lag %d", l)
			}
		}
		if state == "" {
			state = "not serving"
		}
		if n.Error != "" && !n.Serving() {
			state += " (" + n.Error + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, n.Addr, n.ClientAddr, n.Process, state)
	}
	tw.Flush()
	kafka := false
	leader := ""
	for _, n := range st.Nodes {
		if n.Role != cluster.RoleZooKeeper {
			kafka = true
			if n.ID == st.Controller {
				leader = n.Name
			}
		}
	}
	switch {
	case !kafka: // ZooKeeper alone: no controller to speak of
	case st.Quorum != nil && leader != "":
		fmt.Fprintf(w, "controller: %s (KRaft quorum leader, epoch %d, high watermark %d)\n", leader, st.Quorum.LeaderEpoch, st.Quorum.HighWatermark)
	case st.Quorum != nil:
		fmt.Fprintf(w, "controller: none (KRaft quorum: %s)\n", st.Quorum.Error)
	case leader != "":
		fmt.Fprintf(w, "controller: %s\n", leader)
	default:
		fmt.Fprintln(w, "controller: none")
	}
}

func newClusterStatusCommand() *cobra.Command {
	var asJSON bool
	var run, backendName string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Describe a running cluster: each node's process, ZooKeeper mode, broker registration, the controller",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			var st cluster.Status
			err := onRunsBackend(cmd, backendName, func(b cluster.Backend) (err error) {
				st, err = b.Status(ctx, run)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s\n", st.Run)
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().StringVar(&run, "run", "", "the run to describe, when several are up")
	backendFlag(cmd.Flags(), &backendName)
	return cmd
}

func newClusterDownCommand() *cobra.Command {
	var all bool
	var backendName string
	cmd := &cobra.Command{
		Use:   "down [RUN-ID]",
		Short: "Remove a run's processes, namespaces, links and files, also after a crash (default: every run whose harness is dead)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("`faultline cluster down` takes at most one run id, got %d: give one id, or none to remove every run whose harness is dead", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			backend, err := backends.Get(backendName)
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			ctx, stop := signalContext()
			defer stop()
			removed, live, err := backend.Down(ctx, id, all)
			for _, r := range removed {
				fmt.Fprintf(cmd.OutOrStdout(), "removed run %s\n", r)
			}
			for _, r := range live {
				fmt.Fprintf(cmd.OutOrStdout(), "left run %s: its harness is running; give its id, or --all\n", r)
			}
			if err != nil {
				return err
			}
			if len(removed) == 0 && len(live) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no runs to remove")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "with no RUN-ID, also stop runs whose harness is still running")
	backendFlag(cmd.Flags(), &backendName)
	return cmd
}

func newClusterExecCommand() *cobra.Command {
	var run, backendName string
	cmd := &cobra.Command{
		Use:   "exec NODE -- COMMAND [ARG...]",
		Short: "Run a command inside a node's network namespace, as docker exec does",
		Long: `Runs a command inside a node's network namespace. The run's tools are on its
PATH and talk to that node by default:

  faultline cluster exec zk1 -- zkCli ls /
  faultline cluster exec zk2 -- zkCli get /app1
  faultline cluster exec kafka1 -- kafka-topics --list
  faultline cluster exec kafka1 -- kafka-console-consumer --topic t --from-beginning

The environment names the node and the cluster: FAULTLINE_NODE,
FAULTLINE_NODE_ADDR, FAULTLINE_CLIENT_ADDR, FAULTLINE_ZK_CONNECT,
FAULTLINE_BOOTSTRAP and FAULTLINE_CLASSPATH. The exit code is the command's.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || cmd.ArgsLenAtDash() != 1 {
				return errors.New("write the node, then the command after --, e.g. `faultline cluster exec zk1 -- zkCli ls /`")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext()
			defer stop()
			var code int
			err := onRunsBackend(cmd, backendName, func(b cluster.Backend) (err error) {
				code, err = b.Exec(ctx, run, args[0], args[1:], cluster.ExecOptions{
					Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
				})
				return err
			})
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "the run whose node to use, when several are up")
	backendFlag(cmd.Flags(), &backendName)
	return cmd
}

func newClusterFetchCommand() *cobra.Command {
	var o cluster.Options
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Fetch the Kafka and ZooKeeper distribution from Maven Central into the cache, if it is not there",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o = o.Defaults()
			if err := o.Validate(); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			d, err := cluster.FetchDist(ctx, o.CacheDir, cluster.Versions{Kafka: o.KafkaVersion, ZooKeeper: o.ZooKeeperVersion})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Kafka %s and ZooKeeper %s are in %s\n", d.Versions.Kafka, d.Versions.ZooKeeper, filepath.Join(o.CacheDir, "dist"))
			return nil
		},
	}
	addVersionFlags(cmd.Flags(), &o)
	return cmd
}

// onRunsBackend calls do with the backend --backend names. When the flag
// was not given and that backend has no run (cluster.ErrNoRun), it asks
// the other backends in turn, so that `cluster status` and `cluster exec`
// find a docker run without being told; unless one of them does it, the
// error is the named backend's (a machine with no Docker daemon still
// hears that no cluster runs).
func onRunsBackend(cmd *cobra.Command, name string, do func(cluster.Backend) error) error {
	backend, err := backends.Get(name)
	if err != nil {
		return err
	}
	return onRunsBackendOf(backend, backends.All(), cmd.Flags().Changed("backend"), do)
}

// onRunsBackendOf is onRunsBackend over the backends all, backend first;
// given says --backend named it.
func onRunsBackendOf(backend cluster.Backend, all []cluster.Backend, given bool, do func(cluster.Backend) error) error {
	first := do(backend)
	if first == nil || !errors.Is(first, cluster.ErrNoRun) || given {
		return first
	}
	for _, other := range all {
		if other.Name() == backend.Name() {
			continue
		}
		if err := do(other); err == nil {
			return nil
		}
	}
	return first
}
