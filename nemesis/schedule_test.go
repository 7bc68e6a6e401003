package nemesis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
)

// ensembleProbe plays a ZooKeeper ensemble over a fake cluster: a running
// node with a quorum running follows the leader; when the leader is down,
// the running node with the highest id leads (equal zxids: the highest id
// wins the election).
type ensembleProbe struct {
	c  *fakeCluster
	mu sync.Mutex
}

func (p *ensembleProbe) leader() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var running []*fakeNode
	for _, n := range p.c.nodes {
		if n.role == cluster.RoleZooKeeper && n.Running() {
			running = append(running, n)
		}
	}
	if len(running) <= len(p.c.ZooKeepers())/2 {
		return ""
	}
	if l, ok := p.c.Node(p.c.leader); ok && l.Running() {
		return p.c.leader
	}
	p.c.leader = running[len(running)-1].name
	return p.c.leader
}

func (p *ensembleProbe) ZooKeeperMode(_ context.Context, n cluster.Node) (string, error) {
	if !n.Running() {
		return "", errors.New("connection refused")
	}
	switch p.leader() {
	case "":
		return "", errors.New("This ZooKeeper instance is not currently serving requests")
	case n.Name():
		return "leader", nil
	}
	return "follower", nil
}

func (p *ensembleProbe) ISR(context.Context, string) (map[int32][]int32, error) {
	return nil, errors.New("no brokers")
}

func parseSteps(t *testing.T, text string) []Step {
	t.Helper()
	steps, err := ParseSchedule([]byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return steps
}

// nemesisCalls lists the nemesis's completed calls as "f nodes error".
func nemesisCalls(t *testing.T, ops []history.Op) []string {
	t.Helper()
	calls, err := history.Pair(ops)
	if err != nil {
		t.Fatalf("the nemesis's ops do not pair (overlapping calls?): %v", err)
	}
	var out []string
	for _, c := range calls {
		if c.Completion == nil {
			t.Fatalf("%s never completed", c.Invoke.F)
		}
		line := c.Invoke.F + " " + string(c.Completion.Value)
		if c.Completion.Error != "" {
			line += " ERROR " + c.Completion.Error
		}
		out = append(out, line)
	}
	return out
}

// zk4925 is ZOOKEEPER-4925's schedule (scenarios/zookeeper-4925.json has
// the same steps with real times).
const zk4925 = `[
 {"kind":"bind","id":"roles","bind":{"L":"zk-leader","F1":"zk-follower:highest","F2":"zk-follower:lowest"}},
 {"kind":"kill","id":"kill-f2","after":"roles.stopped","target":"$F2",
  "until":[{"step":"kill-l.started"},{"node":"$F1","is":"leader"}],"timeout":"2s"},
 {"kind":"kill","id":"kill-f1","after":"kill-f2.started","start":"20ms","target":"$F1","for":"20ms"},
 {"kind":"kill","id":"kill-l","after":"kill-f1.stopped","start":"10ms","when":[{"node":"$F1","is":"follower"}],
  "target":"$L","until":[{"step":"kill-f2.stopped"}],"timeout":"2s"}
]`

// TestScriptedScheduleFollowsEventsAndConditions runs ZOOKEEPER-4925's
// schedule on a played ensemble: the names are bound from what the nodes
// say, each step waits for what it names, each stop restarts only its own
// step's node, and the nemesis's calls never overlap.
func TestScriptedScheduleFollowsEventsAndConditions(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3", "zk4", "zk5")
	c.leader = "zk2"
	steps := parseSteps(t, zk4925)
	if err := ValidateSchedule(steps, Options{}.Defaults(), Infos(specsOf(c)), Builtin()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Probe: &ensembleProbe{c: c}}, Builtin(), rec, steps)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nem.Run(ctx, time.Now())
	if ctx.Err() != nil {
		t.Fatal("the schedule did not finish")
	}
	if f := nem.Failures(); len(f) > 0 {
		t.Fatalf("failures: %v", f)
	}
	got := nemesisCalls(t, rec.ops())
	want := []string{
		`bind {"F1":"zk5","F2":"zk1","L":"zk2"}`,
		`start-kill {"nodes":["zk1"],"on_workload":false,"signal":"SIGKILL"}`,
		`start-kill {"nodes":["zk5"],"on_workload":false,"signal":"SIGKILL"}`,
		`stop-kill {"restarted":["zk5"]}`,
		`start-kill {"nodes":["zk2"],"on_workload":false,"signal":"SIGKILL"}`,
		`stop-kill {"restarted":["zk1"]}`,
		`stop-kill {"restarted":["zk2"]}`,
	}
	// on_workload is recorded only with workload roles; drop it from want.
	for i := range want {
		want[i] = strings.Replace(want[i], `"on_workload":false,`, "", 1)
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.leader != "zk5" {
		t.Errorf("the played ensemble's leader is %s, want zk5 (F1)", c.leader)
	}
	// The invocations name their steps, and the stops say which they stop.
	var ids []string
	for _, op := range rec.ops() {
		if op.Type == history.Invoke && op.F != "bind" {
			var v struct {
				ID     string   `json:"id"`
				Target string   `json:"target"`
				Nodes  []string `json:"nodes"`
			}
			if err := json.Unmarshal(op.Value, &v); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, fmt.Sprintf("%s:%s%v", op.F, v.ID, v.Nodes))
		}
	}
	wantIDs := []string{"start-kill:kill-f2[]", "start-kill:kill-f1[]", "stop-kill:kill-f1[]", "start-kill:kill-l[]", "stop-kill:kill-f2[]", "stop-kill:kill-l[]"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("invocations %v, want %v", ids, wantIDs)
	}
}

func specsOf(c *fakeCluster) []cluster.NodeSpec {
	var specs []cluster.NodeSpec
	for _, n := range c.nodes {
		specs = append(specs, n.Spec())
	}
	return specs
}

// TestScriptedStepWhoseConditionNeverHolds: the step is recorded as a
// failed start, never applied, and the step waiting on it is recorded as
// not run; both are failures.
func TestScriptedStepWhoseConditionNeverHolds(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	c.leader = "zk1"
	steps := parseSteps(t, `[
	 {"kind":"kill","id":"a","target":"zk1","when":[{"node":"zk2","is":"down"}],"timeout":"50ms"},
	 {"kind":"kill","id":"b","after":"a.started","target":"zk3","for":"10ms"}]`)
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Probe: &ensembleProbe{c: c}}, Builtin(), rec, steps)
	nem.Run(context.Background(), time.Now())
	got := nemesisCalls(t, rec.ops())
	if len(got) != 2 || !strings.Contains(got[0], "ERROR when: zk2 is down did not hold within 50ms (last seen: zk2 runs)") ||
		!strings.Contains(got[1], "ERROR not run: step a did not apply") {
		t.Errorf("calls: %q", got)
	}
	for _, n := range c.nodes {
		if !n.Running() {
			t.Errorf("%s was killed", n.name)
		}
	}
	if f := nem.Failures(); len(f) != 2 {
		t.Errorf("failures %q, want two", f)
	}
}

// TestScriptedUntilTimesOut: a fault whose stop condition never holds is
// stopped at the timeout, and its stop says why.
func TestScriptedUntilTimesOut(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	c.leader = "zk1"
	steps := parseSteps(t, `[{"kind":"pause","target":"zk2","until":[{"node":"zk2","is":"leader"}],"timeout":"30ms"}]`)
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Probe: &ensembleProbe{c: c}}, Builtin(), rec, steps)
	nem.Run(context.Background(), time.Now())
	got := nemesisCalls(t, rec.ops())
	if len(got) != 2 || !strings.Contains(got[1], `{"resumed":["zk2"],"signal":"SIGCONT"} ERROR until: zk2 is leader did not hold within 30ms (last seen: zk2 says follower); stopped anyway`) {
		t.Errorf("calls: %q", got)
	}
	if c.nodes[1].paused {
		t.Error("zk2 is still paused")
	}
}

// TestPauseRecordSaysHow: a pause's record names SIGSTOP and SIGCONT where
// the nodes get signals, and the freezer where they are frozen (docker
// pause), for its stop and for the final heal alike.
func TestPauseRecordSaysHow(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		c := newFakeCluster("zk1", "zk2", "zk3")
		c.frozen = frozen
		steps := parseSteps(t, `[{"kind":"pause","id":"a","target":"zk1","for":"10ms"},{"kind":"pause","id":"b","after":"a.stopped","target":"zk2"}]`)
		rec := &memRecorder{}
		nem := New(&Env{Cluster: c, Options: Options{}.Defaults()}, Builtin(), rec, steps)
		nem.Run(context.Background(), time.Now())
		if err := nem.HealAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := []string{
			`start-pause {"nodes":["zk1"],"signal":"SIGSTOP"}`,
			`stop-pause {"resumed":["zk1"],"signal":"SIGCONT"}`,
			`start-pause {"nodes":["zk2"],"signal":"SIGSTOP"}`,
			`stop-pause {"resumed":["zk2"],"signal":"SIGCONT"}`,
		}
		if frozen {
			want = []string{
				`start-pause {"freezer":"frozen (docker pause)","nodes":["zk1"]}`,
				`stop-pause {"freezer":"thawed (docker unpause)","resumed":["zk1"]}`,
				`start-pause {"freezer":"frozen (docker pause)","nodes":["zk2"]}`,
				`stop-pause {"freezer":"thawed (docker unpause)","resumed":["zk2"]}`,
			}
		}
		// b's stop is HealAll's; the final heal's pause record says how too.
		heal := `"pause":{"resumed":[],"signal":"SIGCONT"}`
		if frozen {
			heal = `"pause":{"freezer":"thawed (docker unpause)","resumed":[]}`
		}
		got := nemesisCalls(t, rec.ops())
		if len(got) != 5 || !slices.Equal(got[:4], want) || !strings.HasPrefix(got[4], "heal ") || !strings.Contains(got[4], heal) {
			t.Errorf("frozen %v: calls:\n%s\nwant:\n%s\nheal ...%s...", frozen, strings.Join(got, "\n"), strings.Join(want, "\n"), heal)
		}
	}
}

// TestOverlappingStepsUndoTheirOwnNodes: two kills overlap; each stop
// restarts only its own step's node, and a step aiming at a node another
// step holds is refused for that node.
func TestOverlappingStepsUndoTheirOwnNodes(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	steps := parseSteps(t, `[
	 {"kind":"kill","id":"a","target":"zk1","for":"60ms"},
	 {"kind":"kill","id":"b","start":"20ms","target":"zk1,zk2","for":"10ms"}]`)
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults()}, Builtin(), rec, steps)
	zk1DownAfterB := make(chan bool, 1)
	go func() {
		time.Sleep(45 * time.Millisecond)
		zk1DownAfterB <- !c.nodes[0].Running()
	}()
	nem.Run(context.Background(), time.Now())
	if !<-zk1DownAfterB {
		t.Error("b's stop restarted zk1, which a killed")
	}
	got := nemesisCalls(t, rec.ops())
	want := []string{
		`start-kill {"nodes":["zk1"],"signal":"SIGKILL"}`,
		`start-kill {"nodes":["zk2"],"signal":"SIGKILL"} ERROR kill zk1: step a already did, and undoes it at its stop`,
		`stop-kill {"restarted":["zk2"]}`,
		`stop-kill {"restarted":["zk1"]}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHealAllStopsEveryOpenStep: faults with no stop stay until the end;
// HealAll stops each, latest first.
func TestHealAllStopsEveryOpenStep(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	steps := parseSteps(t, `[{"kind":"kill","id":"a","target":"zk1"},{"kind":"pause","id":"b","after":"a.started","target":"zk2"}]`)
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults()}, Builtin(), rec, steps)
	nem.Run(context.Background(), time.Now())
	if c.nodes[0].Running() || !c.nodes[1].paused {
		t.Fatal("the faults are not in place after Run")
	}
	if err := nem.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := nemesisCalls(t, rec.ops())
	if len(got) != 5 || !strings.HasPrefix(got[2], "stop-pause") || !strings.HasPrefix(got[3], "stop-kill") || !strings.HasPrefix(got[4], "heal") {
		t.Errorf("calls: %q", got)
	}
}

func TestStepDurationsReadTextOrNanoseconds(t *testing.T) {
	steps := parseSteps(t, `{"nemesis_schedule":[{"kind":"kill","start":5000000000,"stop":"7.5s","for":"1m","timeout":null,"target":"zk1"}]}`)
	s := steps[0]
	if s.Start != 5*time.Second || s.Stop != 7500*time.Millisecond || s.For != time.Minute || s.Timeout != 0 {
		t.Errorf("read %+v", s)
	}
	// What a schedule records reads back the same.
	b, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	again := parseSteps(t, string(b))
	if again[0].Start != s.Start || again[0].Stop != s.Stop || again[0].For != s.For {
		t.Errorf("round trip %+v, want %+v", again[0], s)
	}
	for _, bad := range []string{
		`[{"kind":"kill","start":"soon"}]`,
		`[{"kind":"kill","strat":"5s"}]`,
		`[]`,
		`{"steps":[]}`,
		`not json`,
	} {
		if _, err := ParseSchedule([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestValidateScheduleSaysWhatIsWrong(t *testing.T) {
	nodes := []NodeInfo{{Name: "zk1", Role: cluster.RoleZooKeeper}, {Name: "zk2", Role: cluster.RoleZooKeeper}, {Name: "zk3", Role: cluster.RoleZooKeeper}}
	for _, tc := range []struct{ schedule, want string }{
		{`[{"kind":"kill","target":"$L"}]`, "$L is not bound by an earlier bind step"},
		{`[{"kind":"kill","target":"zk9"}]`, `no node "zk9"`},
		{`[{"kind":"kill","after":"x.started","target":"zk1"}]`, `"after" "x.started" names no step`},
		{`[{"kind":"kill","id":"b","after":"a.started","target":"zk1"},{"kind":"kill","id":"a","target":"zk2"}]`, "names a step that comes later"},
		{`[{"kind":"kill","id":"a","target":"zk1"},{"kind":"kill","id":"a","target":"zk2"}]`, `id "a" is also step 1's`},
		{`[{"kind":"kill","target":"zk1","when":[{"node":"zk2","is":"sleepy"}]}]`, `"sleepy" is not a condition`},
		{`[{"kind":"kill","target":"zk1","until":[{"node":"zk2","is":"in-isr"}]}]`, "needs brokers"},
		{`[{"kind":"kill","target":"zk1","until":[{"step":"a"}]}]`, "give ID.started or ID.stopped"},
		{`[{"kind":"kill","target":"zk1","until":[{"node":"zk2","is":"down","healthy":true}]}]`, "must give one of"},
		{`[{"kind":"bind","bind":{"L":"the boss"}}]`, `"the boss" is neither a node nor one of`},
		{`[{"kind":"explode","target":"zk1"}]`, `"explode" is not a fault`},
		{`[{"kind":"kill"}]`, `needs a "target"`},
		{`[{"kind":"partition","shape":"isolate"}]`, `give "target"`},
		{`[{"kind":"partition"}]`, `needs a "shape"`},
		{`[{"kind":"kill","id":"a","target":"zk1"},{"kind":"kill","after":"a.started","stop":"5s","target":"zk2"}]`, `give "for" instead`},
		{`[{"kind":"wait","when":[{"node":"zk1","is":"lock-holder"}]}]`, "lock-holder asks about a client host's processes"},
	} {
		steps := parseSteps(t, tc.schedule)
		err := ValidateSchedule(steps, Options{}.Defaults(), nodes, Builtin())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.schedule, err, tc.want)
		}
	}
	ok := parseSteps(t, `[{"kind":"bind","id":"r","bind":{"L":"zk-leader"}},{"kind":"partition","shape":"isolate","target":"$L","after":"r.started","for":"1s"},{"kind":"kill","target":"zk1,zk2","start":"1s","stop":"2s"}]`)
	if err := ValidateSchedule(ok, Options{}.Defaults(), nodes, Builtin()); err != nil {
		t.Errorf("a good schedule: %v", err)
	}
}

// TestIsolateCutsTheTargetsOffTogether: shape isolate with a bound name.
func TestIsolateCutsTheTargetsOffTogether(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3", "zk4", "zk5")
	c.leader = "zk3"
	steps := parseSteps(t, `[{"kind":"bind","id":"r","bind":{"L":"zk-leader"}},
	 {"kind":"partition","shape":"isolate","target":"$L,zk1","after":"r.started"}]`)
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Probe: &ensembleProbe{c: c}}, Builtin(), rec, steps)
	nem.Run(context.Background(), time.Now())
	if got := c.nodes[2].dropped(); !slices.Equal(got, []string{"zk2", "zk4", "zk5"}) {
		t.Errorf("zk3 drops %v", got)
	}
	if got := c.nodes[0].dropped(); !slices.Equal(got, []string{"zk2", "zk4", "zk5"}) {
		t.Errorf("zk1 drops %v", got)
	}
	if got := c.nodes[1].dropped(); !slices.Equal(got, []string{"zk1", "zk3"}) {
		t.Errorf("zk2 drops %v", got)
	}
	if err := nem.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.nodes[2].dropped(); len(got) != 0 {
		t.Errorf("zk3 still drops %v", got)
	}
}

// TestWaitStepTimesLaterSteps: a wait step records when its condition
// held, and a step after it starts its clock then.
func TestWaitStepTimesLaterSteps(t *testing.T) {
	c := newFakeCluster("zk1", "zk2", "zk3")
	c.leader = "zk1"
	steps := parseSteps(t, `[
	 {"kind":"kill","id":"a","target":"zk2","start":"20ms","for":"600ms"},
	 {"kind":"wait","id":"down","when":[{"node":"zk2","is":"down"}],"timeout":"1s"},
	 {"kind":"pause","id":"b","after":"down.started","start":"30ms","target":"zk3","for":"10ms"}]`)
	if err := ValidateSchedule(steps, Options{}.Defaults(), Infos(specsOf(c)), Builtin()); err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Probe: &ensembleProbe{c: c}}, Builtin(), rec, steps)
	nem.Run(context.Background(), time.Now())
	got := nemesisCalls(t, rec.ops())
	var fs []string
	for _, g := range got {
		fs = append(fs, strings.Fields(g)[0])
	}
	if !slices.Equal(fs, []string{"start-kill", "wait", "start-pause", "stop-pause", "stop-kill"}) {
		t.Errorf("calls %q", got)
	}
	if kinds := ScheduleKinds(steps); !slices.Equal(kinds, []Kind{KindKill, KindPause}) {
		t.Errorf("kinds %v", kinds)
	}
	bad := parseSteps(t, `[{"kind":"wait","target":"zk1"}]`)
	if err := ValidateSchedule(bad, Options{}.Defaults(), Infos(specsOf(c)), Builtin()); err == nil || !strings.Contains(err.Error(), "only waits") {
		t.Errorf("a wait with a target: %v", err)
	}
}

// lockHolders answers lock-holder for the hosts in holding.
type lockHolders struct {
	mu      sync.Mutex
	holding map[string]bool
	asked   int
}

func (l *lockHolders) Condition(is, host string) (bool, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if is != IsLockHolder {
		return false, "", fmt.Errorf("no condition %s", is)
	}
	l.asked++
	if l.holding[host] {
		return true, "process 0 on " + host + " holds l1", nil
	}
	return false, "no process on " + host + " holds a lock", nil
}

// TestLockHolderConditionAsksTheWorkload: a step waiting for lock-holder on
// a client host starts when the workload says one of its processes holds a
// lock, and a workload that answers nothing makes the wait fail.
func TestLockHolderConditionAsksTheWorkload(t *testing.T) {
	schedule := `[{"kind":"wait","id":"w","when":[{"node":"c1","is":"lock-holder"}],"timeout":"2s"}]`
	nodes := []NodeInfo{{Name: "zk1", Role: cluster.RoleZooKeeper}, {Name: "c1", Role: cluster.RoleClient}}
	if err := ValidateSchedule(parseSteps(t, schedule), Options{}.Defaults(), nodes, Builtin()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	c := newFakeCluster("zk1", "zk2", "zk3")
	lh := &lockHolders{holding: map[string]bool{}}
	go func() {
		time.Sleep(300 * time.Millisecond)
		lh.mu.Lock()
		lh.holding["c1"] = true
		lh.mu.Unlock()
	}()
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Workload: lh}, Builtin(), rec, parseSteps(t, schedule))
	nem.Run(context.Background(), time.Now())
	if f := nem.Failures(); len(f) != 0 || lh.asked < 2 {
		t.Errorf("failures %q, asked %d times", f, lh.asked)
	}
	rec = &memRecorder{}
	nem = New(&Env{Cluster: c, Options: Options{}.Defaults()}, Builtin(), rec,
		parseSteps(t, `[{"kind":"wait","when":[{"node":"c1","is":"lock-holder"}],"timeout":"50ms"}]`))
	nem.Run(context.Background(), time.Now())
	if got := nemesisCalls(t, rec.ops()); len(got) != 1 || !strings.Contains(got[0], "the workload answers no lock-holder condition") {
		t.Errorf("calls %q", got)
	}
}

// TestBindLockHolderWaitsForAClientHost: a lock-holder bind waits for a
// client host the workload says holds a lock, binds it, and the isolate
// step after it cuts that host off; with no client hosts it fails.
func TestBindLockHolderWaitsForAClientHost(t *testing.T) {
	schedule := `[{"kind":"bind","id":"b","bind":{"H":"lock-holder"},"timeout":"2s"},
	 {"kind":"partition","shape":"isolate","target":"$H","after":"b.started","for":"10ms"}]`
	c := newFakeCluster("zk1", "zk2", "zk3").withHosts(3)
	lh := &lockHolders{holding: map[string]bool{}}
	go func() {
		time.Sleep(300 * time.Millisecond)
		lh.mu.Lock()
		lh.holding["c2"] = true
		lh.mu.Unlock()
	}()
	rec := &memRecorder{}
	nem := New(&Env{Cluster: c, Options: Options{}.Defaults(), Workload: lh}, Builtin(), rec, parseSteps(t, schedule))
	nem.Run(context.Background(), time.Now())
	got := nemesisCalls(t, rec.ops())
	if f := nem.Failures(); len(f) != 0 || len(got) < 2 || !strings.Contains(got[0], `{"H":"c2"}`) || !strings.Contains(got[1], "c2") {
		t.Errorf("failures %q, calls %q", f, got)
	}
	rec = &memRecorder{}
	nem = New(&Env{Cluster: newFakeCluster("zk1", "zk2", "zk3"), Options: Options{}.Defaults(), Workload: lh}, Builtin(), rec, parseSteps(t, schedule))
	nem.Run(context.Background(), time.Now())
	if got := nemesisCalls(t, rec.ops()); len(got) == 0 || !strings.Contains(got[0], "no client hosts") {
		t.Errorf("calls %q", got)
	}
}
