package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// runContainers lists a run's containers (running or not) by label; an
// empty id lists every run's.
func (d *daemon) runContainers(ctx context.Context, id string) ([]container.Summary, error) {
	f := client.Filters{}
	if id == "" {
		f = f.Add("label", labelRun)
	} else {
		f = f.Add("label", labelRun+"="+id)
	}
	res, err := d.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list faultline's containers: %w", err)
	}
	return res.Items, nil
}

// runIDs lists the runs that left containers or networks, oldest first.
func (d *daemon) runIDs(ctx context.Context) ([]string, error) {
	ctrs, err := d.runContainers(ctx, "")
	if err != nil {
		return nil, err
	}
	created := map[string]int64{}
	for _, c := range ctrs {
		id := c.Labels[labelRun]
		if t, ok := created[id]; !ok || c.Created < t {
			created[id] = c.Created
		}
	}
	nets, err := d.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", labelRun)})
	if err != nil {
		return nil, fmt.Errorf("list faultline's networks: %w", err)
	}
	for _, n := range nets.Items {
		if _, ok := created[n.Labels[labelRun]]; !ok {
			created[n.Labels[labelRun]] = n.Created.Unix()
		}
	}
	ids := make([]string, 0, len(created))
	for id := range created {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return created[ids[i]] < created[ids[j]] })
	return ids, nil
}

// resolveRun picks a run by id; with none, the only run there is.
func (d *daemon) resolveRun(ctx context.Context, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	ids, err := d.runIDs(ctx)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", cluster.NoRun("no faultline run is on the Docker daemon: start one with `faultline cluster up --backend docker`")
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("%d runs are on the Docker daemon (%s): name one with --run", len(ids), strings.Join(ids, ", "))
	}
}

// StatusOf describes a run from its containers' labels and states; any
// faultline process on the machine can ask. An empty id means the only
// run there is.
func StatusOf(ctx context.Context, id string) (cluster.Status, error) {
	d, err := connect(ctx)
	if err != nil {
		return cluster.Status{}, err
	}
	defer d.close()
	if id, err = d.resolveRun(ctx, id); err != nil {
		return cluster.Status{}, err
	}
	ctrs, err := d.runContainers(ctx, id)
	if err != nil {
		return cluster.Status{}, err
	}
	if len(ctrs) == 0 {
		return cluster.Status{}, fmt.Errorf("run %s has no container on the Docker daemon: see `faultline cluster status --backend docker` for the runs there are", id)
	}
	var procs []cluster.NodeProcess
	var servers []string
	for _, c := range ctrs {
		s, err := specFromLabels(c.Labels)
		if err != nil {
			return cluster.Status{}, err
		}
		if s.Role == cluster.RoleClient {
			continue
		}
		p := cluster.NodeProcess{NodeSpec: s, Process: cluster.ProcessDown}
		if res, err := d.api.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{}); err == nil && res.Container.State != nil && res.Container.State.Running {
			p.PID, p.Process = res.Container.State.Pid, cluster.ProcessRunning
			if res.Container.State.Paused {
				p.Process = cluster.ProcessPaused
			}
		}
		procs = append(procs, p)
		if s.Role == cluster.RoleZooKeeper {
			servers = append(servers, s.ClientAddr())
		}
	}
	sortProcesses(procs)
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	if len(servers) == 0 {
		return cluster.QueryStatus(ctx, id, procs, dial, nil), nil
	}
	conn, err := cluster.ConnectZooKeeper(dial, servers, 10*time.Second, nil)
	if err != nil {
		return cluster.QueryStatus(ctx, id, procs, dial, nil), nil
	}
	defer conn.Close()
	return cluster.QueryStatus(ctx, id, procs, dial, conn), nil
}

// sortProcesses orders nodes as the plan does: ZooKeeper, brokers,
// controllers, each by number.
func sortProcesses(procs []cluster.NodeProcess) {
	rank := map[cluster.Role]int{cluster.RoleZooKeeper: 0, cluster.RoleKafka: 1, cluster.RoleController: 2}
	slices.SortFunc(procs, func(a, b cluster.NodeProcess) int {
		if r := rank[a.Role] - rank[b.Role]; r != 0 {
			return r
		}
		return a.ID - b.ID
	})
}

// Exec runs a command in a node's container (docker exec) and returns its
// exit code. The run's tools (zkCli, kafka-topics, kafka-console-producer,
// kafka-console-consumer, kafka-metadata-quorum) are on its PATH, and its
// environment names the node and the cluster as the local backend's does.
func Exec(ctx context.Context, runID, nodeName string, argv []string, o cluster.ExecOptions) (int, error) {
	if len(argv) == 0 {
		return 0, errors.New("no command given: write it after --, e.g. `faultline cluster exec zk1 -- zkCli ls /`")
	}
	d, err := connect(ctx)
	if err != nil {
		return 0, err
	}
	defer d.close()
	if runID, err = d.resolveRun(ctx, runID); err != nil {
		return 0, err
	}
	ctrs, err := d.runContainers(ctx, runID)
	if err != nil {
		return 0, err
	}
	var self *container.Summary
	var s cluster.NodeSpec
	var names []string
	var specs []cluster.NodeSpec
	for i, c := range ctrs {
		spec, err := specFromLabels(c.Labels)
		if err != nil {
			return 0, err
		}
		names, specs = append(names, spec.Name), append(specs, spec)
		if spec.Name == nodeName {
			self, s = &ctrs[i], spec
		}
	}
	if self == nil {
		slices.Sort(names)
		return 0, fmt.Errorf("run %s has no node %q: choose one of %s", runID, nodeName, strings.Join(names, ", "))
	}
	bin := filepath.Join(self.Labels[labelDir], "bin")
	env := append([]string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin"},
		cluster.ExecEnv(runID, s, specs, self.Labels[labelClasspath])...)
	return d.exec(ctx, self.ID, s.Name, argv, env, o)
}

// exec runs argv in a container through the Docker client (testcontainers'
// Exec has no standard input) and copies its streams.
func (d *daemon) exec(ctx context.Context, id, node string, argv, env []string, o cluster.ExecOptions) (int, error) {
	created, err := d.api.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: argv, Env: env, AttachStdin: o.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return 0, fmt.Errorf("run %s in %s: %w (is the node running? see `faultline cluster status --backend docker`)", argv[0], node, err)
	}
	att, err := d.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return 0, fmt.Errorf("run %s in %s: %w", argv[0], node, err)
	}
	defer att.Close()
	if o.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, o.Stdin)
			_ = att.CloseWrite()
		}()
	}
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if _, err := stdcopy.StdCopy(stdout, stderr, att.Reader); err != nil {
		return 0, fmt.Errorf("run %s in %s: %w", argv[0], node, err)
	}
	res, err := d.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return 0, fmt.Errorf("run %s in %s: %w", argv[0], node, err)
	}
	return res.ExitCode, nil
}

// Down removes a run's containers and network, found by label, and its
// work directory when it was made for the run; a live harness is asked
// to tear down first. With an empty id it removes every run whose harness
// is dead, and live ones too when all is set.
func Down(ctx context.Context, id string, all bool) (removed, live []string, err error) {
	d, err := connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer d.close()
	ids, named := []string{id}, id != ""
	if !named {
		if ids, err = d.runIDs(ctx); err != nil {
			return nil, nil, err
		}
	}
	var errs []error
	for _, id := range ids {
		harness, found, err := d.runHarness(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !found {
			errs = append(errs, fmt.Errorf("no run %q on the Docker daemon: see `faultline cluster status --backend docker`", id))
			continue
		}
		if harnessAlive(harness) && !strings.HasPrefix(harness, fmt.Sprintf("%d:", os.Getpid())) {
			if !named && !all {
				live = append(live, id)
				continue
			}
			stopHarness(ctx, harness)
		}
		if err := removeRun(ctx, d, id); err != nil {
			errs = append(errs, fmt.Errorf("run %s: %w", id, err))
			continue
		}
		removed = append(removed, id)
	}
	return removed, live, errors.Join(errs...)
}

// runHarness is the harness label of a run's containers or network.
func (d *daemon) runHarness(ctx context.Context, id string) (harness string, found bool, err error) {
	ctrs, err := d.runContainers(ctx, id)
	if err != nil {
		return "", false, err
	}
	for _, c := range ctrs {
		return c.Labels[labelHarness], true, nil
	}
	nets, err := d.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", labelRun+"="+id)})
	if err != nil {
		return "", false, fmt.Errorf("list faultline's networks: %w", err)
	}
	for _, n := range nets.Items {
		return n.Labels[labelHarness], true, nil
	}
	return "", false, nil
}

// stopHarness sends SIGTERM to a run's harness and waits a while for it
// to tear down on its own.
func stopHarness(ctx context.Context, harness string) {
	var pid int
	if _, err := fmt.Sscanf(harness, "%d:", &pid); err != nil || pid <= 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.After(15 * time.Second)
	for harnessAlive(harness) {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeRun removes every container and network labelled with the run,
// and the run's work directory when it was made for the run. It touches
// nothing without the run's label.
func removeRun(ctx context.Context, d *daemon, id string) error {
	ctrs, err := d.runContainers(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	dirs := map[string]bool{}
	for _, c := range ctrs {
		if c.Labels[labelRemoveDir] == "true" && c.Labels[labelDir] != "" {
			dirs[c.Labels[labelDir]] = true
		}
		if _, err := d.api.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", strings.Join(c.Names, ","), err))
		}
	}
	nets, err := d.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("label", labelRun+"="+id)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list faultline's networks: %w", err))...)
	}
	for _, n := range nets.Items {
		if n.Labels[labelRemoveDir] == "true" && n.Labels[labelDir] != "" {
			dirs[n.Labels[labelDir]] = true
		}
		if _, err := d.api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	for dir := range dirs {
		if filepath.Base(dir) != "faultline-"+id {
			continue // only a folder named for the run is removed here
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
