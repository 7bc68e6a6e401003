package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/internal/nsutil"
	"github.com/vishvananda/netns"
)

// StatusOf describes a run from its state file: any faultline process on
// the machine can ask. An empty id means the only run there is.
func StatusOf(ctx context.Context, id string) (cluster.Status, error) {
	st, err := resolveRun(id)
	if err != nil {
		return cluster.Status{}, err
	}
	runNS, err := netns.GetFromPath(nsPath(runNSName(st.ID)))
	if err != nil {
		return cluster.Status{}, fmt.Errorf("run %s has no network namespace (%v): remove what is left with `faultline cluster down %s`", st.ID, err, st.ID)
	}
	defer runNS.Close()
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		return dialIn(ctx, runNS, network, address)
	}
	var servers []string
	for _, n := range st.Nodes {
		if n.Role == cluster.RoleZooKeeper {
			servers = append(servers, n.ClientAddr())
		}
	}
	procs := make([]cluster.NodeProcess, len(st.Nodes))
	for i, n := range st.Nodes {
		procs[i] = n.process()
	}
	status := cluster.QueryStatus(ctx, st.ID, procs, dial, nil)
	if len(servers) > 0 {
		conn, err := cluster.ConnectZooKeeper(dial, servers, 10*time.Second, nil)
		if err == nil {
			defer conn.Close()
			status = cluster.QueryStatus(ctx, st.ID, procs, dial, conn)
		}
	}
	return status, nil
}

// Exec runs a command inside a node's network namespace, as `docker exec`
// does, and returns its exit code. The run's tools (zkCli, kafka-topics,
// kafka-console-producer, kafka-console-consumer) are on its PATH, and its
// environment names the node and the cluster:
// FAULTLINE_NODE, FAULTLINE_NODE_ADDR, FAULTLINE_CLIENT_ADDR,
// FAULTLINE_ZK_CONNECT, FAULTLINE_BOOTSTRAP, FAULTLINE_CLASSPATH.
func Exec(ctx context.Context, runID, node string, argv []string, o cluster.ExecOptions) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("no command given: write it after --, e.g. `faultline cluster exec zk1 -- zkCli ls /`")
	}
	st, err := resolveRun(runID)
	if err != nil {
		return 0, err
	}
	var self *nodeState
	specs := make([]cluster.NodeSpec, len(st.Nodes))
	names := make([]string, len(st.Nodes))
	for i, n := range st.Nodes {
		if n.Name == node {
			self = &st.Nodes[i]
		}
		specs[i], names[i] = n.NodeSpec, n.Name
	}
	if self == nil {
		return 0, fmt.Errorf("run %s has no node %q: choose one of %s", st.ID, node, strings.Join(names, ", "))
	}
	ns, err := netns.GetFromPath(self.NetNSPath)
	if err != nil {
		return 0, fmt.Errorf("open the namespace of %s (%v): is the run still up? see `faultline cluster status`", node, err)
	}
	defer ns.Close()
	bin := filepath.Join(st.Dir, "bin")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if !strings.Contains(argv[0], "/") {
		if _, err := os.Stat(filepath.Join(bin, argv[0])); err == nil {
			cmd.Path = filepath.Join(bin, argv[0])
			cmd.Err = nil
		}
	}
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, cluster.ExecEnv(st.ID, self.NodeSpec, specs, st.classpath(self.Role))...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	// The command is started from a thread inside the node's namespace;
	// it inherits that namespace and nothing else of the node.
	if err := nsutil.RunInNamespace(ns, cmd.Start); err != nil {
		return 0, fmt.Errorf("run %s in %s: %w", argv[0], node, err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("run %s in %s: %w", argv[0], node, err)
	}
	return 0, nil
}
