package cluster

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// rosterNode is a BackendNode that only records its starts.
type rosterNode struct {
	Node    // nil: only what the roster asks is implemented
	spec    NodeSpec
	started *[]string
	exited  error
}

func (n *rosterNode) Name() string       { return n.spec.Name }
func (n *rosterNode) Role() Role         { return n.spec.Role }
func (n *rosterNode) ID() int            { return n.spec.ID }
func (n *rosterNode) ClientAddr() string { return n.spec.ClientAddr() }
func (n *rosterNode) LogFile() string    { return "/logs/" + n.spec.Name }
func (n *rosterNode) Start(context.Context) error {
	*n.started = append(*n.started, n.spec.Name)
	return nil
}
func (n *rosterNode) Process(context.Context) NodeProcess {
	return NodeProcess{NodeSpec: n.spec, Process: ProcessRunning}
}
func (n *rosterNode) ExitedOnStart(context.Context) error { return n.exited }

type rosterHost struct{ ClientHost }

func newTestRoster(t *testing.T, dial DialFunc) (*Roster, []*rosterNode, *[]string) {
	t.Helper()
	var started []string
	var nodes []*rosterNode
	for _, s := range PlanNodes(Options{ZooKeeperNodes: 3, KafkaNodes: 2}.Defaults()) {
		nodes = append(nodes, &rosterNode{spec: s, started: &started})
	}
	return NewRoster("r1", false, nodes, []rosterHost{{}}, dial, nil), nodes, &started
}

func names(nodes []Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name())
	}
	return out
}

func TestRosterLookups(t *testing.T) {
	r, _, _ := newTestRoster(t, nil)
	if got, want := names(r.ZooKeepers()), []string{"zk1", "zk2", "zk3"}; !slices.Equal(got, want) {
		t.Errorf("ZooKeepers = %v, want %v", got, want)
	}
	if got, want := names(r.Brokers()), []string{"kafka1", "kafka2"}; !slices.Equal(got, want) {
		t.Errorf("Brokers = %v, want %v", got, want)
	}
	if got := len(r.Nodes()); got != 5 {
		t.Errorf("%d nodes, want 5", got)
	}
	if n, ok := r.Node("kafka2"); !ok || n.ID() != 2 {
		t.Errorf("Node(kafka2) = %v, %v", n, ok)
	}
	if _, ok := r.Node("kafka3"); ok {
		t.Error("Node(kafka3) found a node the run does not have")
	}
	if got := len(r.ClientHosts()); got != 1 {
		t.Errorf("%d client hosts, want 1", got)
	}
}

func TestRosterStartRole(t *testing.T) {
	r, _, started := newTestRoster(t, nil)
	if err := r.startRole(context.Background(), RoleKafka); err != nil {
		t.Fatal(err)
	}
	if want := []string{"kafka1", "kafka2"}; !slices.Equal(*started, want) {
		t.Errorf("started %v, want %v", *started, want)
	}
}

// TestRosterWaitListening: a node that listens passes; one whose server
// exited fails at once, naming it and its log.
func TestRosterWaitListening(t *testing.T) {
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		c1, c2 := net.Pipe()
		c2.Close()
		return c1, nil
	}
	r, nodes, _ := newTestRoster(t, dial)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.waitListening(ctx, RoleKafka); err != nil {
		t.Fatalf("listening brokers: %v", err)
	}
	nodes[4].exited = errors.New("exited on start (exit status 1)")
	err := r.waitListening(ctx, RoleKafka)
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node != "kafka2" || ne.LogFile != "/logs/kafka2" {
		t.Fatalf("an exited broker: %v, want kafka2's NodeError with its log", err)
	}
	if err := r.waitFor(ctx, RoleKafka); !errors.As(err, &ne) || ne.Node != "kafka2" {
		t.Fatalf("waitFor an exited broker: %v, want kafka2's NodeError", err)
	}
}

// TestRosterWaitListeningTimesOut names the node that never listened.
func TestRosterWaitListeningTimesOut(t *testing.T) {
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, errors.New("connection refused")
	}
	r, _, _ := newTestRoster(t, dial)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var ne *NodeError
	if err := r.waitListening(ctx, RoleKafka); !errors.As(err, &ne) || ne.Node != "kafka1" {
		t.Fatalf("got %v, want kafka1 not listening in time", err)
	}
}

func TestRosterCloseZooKeeperNil(t *testing.T) {
	var r *Roster
	r.CloseZooKeeper() // a run that failed before its roster was made
}
