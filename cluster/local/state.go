package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
)

// StateDir holds a state file per run that is up or was left by a crash. It
// is on tmpfs, like the namespaces it points at: both vanish at reboot.
const StateDir = "/run/faultline"

// runState is what a run records about itself, so that another faultline
// process can describe it, run commands in it, and remove what it left.
type runState struct {
	ID           string    `json:"id"`
	HarnessPID   int       `json:"harness_pid"`
	HarnessStart uint64    `json:"harness_start"`
	Created      time.Time `json:"created"`
	Ready        bool      `json:"ready"`
	Dir          string    `json:"dir"`
	RemoveDir    bool      `json:"remove_dir"`
	// ZooKeeperClasspath and KafkaClasspath are the servers' jars.
	ZooKeeperClasspath string `json:"zookeeper_classpath"`
	KafkaClasspath     string `json:"kafka_classpath"`
	// KRaftClusterID is the cluster id a KRaft cluster's storage is
	// formatted with.
	KRaftClusterID string           `json:"kraft_cluster_id,omitempty"`
	Versions       cluster.Versions `json:"versions"`
	Namespaces     []string         `json:"namespaces"`
	Nodes          []nodeState      `json:"nodes"`
}

type nodeState struct {
	cluster.NodeSpec
	PID       int    `json:"pid"`
	PIDStart  uint64 `json:"pid_start"`
	DataDir   string `json:"data_dir"`
	LogFile   string `json:"log_file"`
	NetNSPath string `json:"netns"`
}

func statePath(id string) string { return filepath.Join(StateDir, id+".json") }

// write saves the state atomically.
func (s *runState) write() error {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", StateDir, err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(s.ID) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write run state: %w", err)
	}
	if err := os.Rename(tmp, statePath(s.ID)); err != nil {
		return fmt.Errorf("write run state: %w", err)
	}
	return nil
}

func readState(id string) (*runState, error) {
	b, err := os.ReadFile(statePath(id))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no run %q on this machine: see `faultline cluster status` for the runs there are", id)
		}
		return nil, err
	}
	var s runState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file %s is damaged (%v): remove the run with `faultline cluster down %s`", statePath(id), err, id)
	}
	if s.ID == "" {
		s.ID = id
	}
	return &s, nil
}

// harnessAlive reports whether the process that made the run still runs.
func (s *runState) harnessAlive() bool { return sameProcess(s.HarnessPID, s.HarnessStart) }

// RunIDs lists the runs recorded on this machine, oldest first.
func RunIDs() ([]string, error) {
	entries, err := os.ReadDir(StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs in %s: %w", StateDir, err)
	}
	type run struct {
		id  string
		mod time.Time
	}
	var runs []run
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			info, err := e.Info()
			if err != nil {
				continue
			}
			runs = append(runs, run{id, info.ModTime()})
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].mod.Before(runs[j].mod) })
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.id
	}
	return ids, nil
}

// resolveRun picks a run by id; with no id, the only run there is.
func resolveRun(id string) (*runState, error) {
	if id != "" {
		return readState(id)
	}
	ids, err := RunIDs()
	if err != nil {
		return nil, err
	}
	switch len(ids) {
	case 0:
		return nil, cluster.NoRun("no faultline cluster is running on this machine: start one with `faultline cluster up`")
	case 1:
		return readState(ids[0])
	default:
		return nil, fmt.Errorf("%d runs are on this machine (%s): name one with --run", len(ids), strings.Join(ids, ", "))
	}
}

// process says what the node's server process is doing now.
func (n nodeState) process() cluster.NodeProcess {
	p := cluster.NodeProcess{NodeSpec: n.NodeSpec, Process: cluster.ProcessDown}
	if sameProcess(n.PID, n.PIDStart) {
		p.PID, p.Process = n.PID, cluster.ProcessRunning
		if ps, err := readProcStat(n.PID); err == nil && ps.State == 'T' {
			p.Process = cluster.ProcessPaused
		}
	}
	return p
}

// classpath is the jars a node of role runs (and its tools use).
func (s *runState) classpath(role cluster.Role) string {
	if role == cluster.RoleZooKeeper {
		return s.ZooKeeperClasspath
	}
	return s.KafkaClasspath
}
