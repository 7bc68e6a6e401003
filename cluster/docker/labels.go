package docker

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/faultline/faultline/cluster"
)

// The labels on every container and network of a run. A run is found by
// them, never by names alone.
const (
	// labelRun is the run's id, on every container and network.
	labelRun = "faultline.run"
	// labelNode is the node's name (zk1, kafka1, ctrl1, c1), on every
	// container; "network" on the run's network.
	labelNode = "faultline.node"
	// labelRole, labelID, labelAddr and labelController are the node's
	// spec, so another process can describe the run from Docker alone.
	labelRole       = "faultline.role"
	labelID         = "faultline.id"
	labelAddr       = "faultline.addr"
	labelController = "faultline.controller"
	// labelHarness names the harness process that made the run:
	// "pid:start", start being the process's start time in /proc.
	labelHarness = "faultline.harness"
	// labelDir is the run's work directory; labelRemoveDir says whether it
	// was made for the run (and goes with it).
	labelDir       = "faultline.dir"
	labelRemoveDir = "faultline.remove-dir"
	// labelClasspath is the classpath of the node's server's jars, for the
	// tools `cluster exec` runs.
	labelClasspath = "faultline.classpath"
)

// networkNode is labelNode's value on the run's network.
const networkNode = "network"

// containerName is a node's container's name: faultline-<run>-<node>.
func containerName(runID, node string) string { return "faultline-" + runID + "-" + node }

// runLabels are the labels of everything a run makes.
type runLabels struct {
	RunID     string
	Harness   string
	Dir       string
	RemoveDir bool
}

func (r runLabels) common(node string) map[string]string {
	return map[string]string{
		labelRun:       r.RunID,
		labelNode:      node,
		labelHarness:   r.Harness,
		labelDir:       r.Dir,
		labelRemoveDir: strconv.FormatBool(r.RemoveDir),
	}
}

// networkLabels labels the run's network.
func (r runLabels) network() map[string]string { return r.common(networkNode) }

// nodeLabels labels a node's container with its spec.
func (r runLabels) node(s cluster.NodeSpec, classpath string) map[string]string {
	l := r.common(s.Name)
	l[labelRole] = string(s.Role)
	l[labelID] = strconv.Itoa(s.ID)
	l[labelAddr] = s.Addr.String()
	if s.Controller {
		l[labelController] = "true"
	}
	if classpath != "" {
		l[labelClasspath] = classpath
	}
	return l
}

// specFromLabels reads a node's spec back from its container's labels.
func specFromLabels(l map[string]string) (cluster.NodeSpec, error) {
	s := cluster.NodeSpec{Name: l[labelNode], Role: cluster.Role(l[labelRole]), Controller: l[labelController] == "true"}
	if s.Name == "" || s.Role == "" {
		return cluster.NodeSpec{}, fmt.Errorf("container of run %s has no %s or %s label", l[labelRun], labelNode, labelRole)
	}
	var err error
	if s.ID, err = strconv.Atoi(l[labelID]); err != nil {
		return cluster.NodeSpec{}, fmt.Errorf("node %s: label %s: %w", s.Name, labelID, err)
	}
	if s.Addr, err = netip.ParseAddr(l[labelAddr]); err != nil {
		return cluster.NodeSpec{}, fmt.Errorf("node %s: label %s: %w", s.Name, labelAddr, err)
	}
	return s, nil
}
