package checker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// Leadership reads what the observer recorded (docs/history.md, "Observer
// ops") of each node's beliefs about leadership, and finds the times when
// two nodes believed they led the same thing at once. Its result is always
// advisory, a finding and never part of the verdict: a deposed leader
// learns late that it was deposed, and the observer asks each node only
// about once a second, so brief overlaps during a failover are expected;
// long ones, or ones outside failovers, are worth a look.
//
// An answered observation of a node holds from its completion until the
// next observation of that node begins to hold: the next answered one's
// completion, or the invocation of one the node did not answer (fail,
// info, or never completed), from which on the node's belief is unknown
// until it answers again; the last holds until the observer's last op. A
// node's beliefs come from its own answers only:
//   - zk-mode: the ZooKeeper node's mode (leader, follower, observer,
//     looking, standalone, ...), with its epoch.
//   - kafka-view: a broker's own metadata: it believes itself the
//     controller while its view names its own id ("id") as "controller",
//     and believes it leads a partition while its view names its own id
//     as that partition's leader.
//   - kraft-quorum: a KRaft controller's view of the quorum: it believes
//     itself the quorum's leader while it names its own id as "leader".
//
// The overlaps, each a finding of its own kind, with the two nodes, when
// it began and ended on the history's clock, and the faults in place then:
//   - zk-leader-overlap: two ZooKeeper nodes both in mode leader (whatever
//     their epochs; the message gives them).
//   - controller-overlap: two brokers each naming itself the controller.
//     Views that name another broker are not claims: only a broker's claim
//     about itself makes it act as the controller. (A broker of a KRaft
//     cluster names a broker of its choosing, often itself, not the
//     quorum's leader: in a history with kraft-quorum observations, a
//     broker's view makes no controller claim; kraft-quorum judges KRaft.)
//   - kraft-leader-overlap: two KRaft controllers each naming itself the
//     quorum's leader; the same epoch on both would break Raft.
//   - partition-leader-overlap: two brokers each naming itself the leader
//     of one partition.
//
// The verdict is Invalid (a finding) if any overlap was found, Unknown if
// no observation was answered, else Valid. A malformed observer op (an
// unknown f, a value without its node, or, for kafka-view and
// kraft-quorum, without the node's own "id") is Unknown with Error. Each
// kind lists at most 10 examples, the longest.
//
// Result.Details is a *LeadershipDetails, with every node's beliefs over
// time (what results draws as timeline.png).
type Leadership struct{}

// LeadershipAdvisory is the Advisory of every Leadership result.
const LeadershipAdvisory = "brief overlaps during a failover are expected: a deposed leader learns late that it was deposed, and the observer asks each node only about once a second"

// Name returns "leadership".
func (Leadership) Name() string { return "leadership" }

// maxLeadershipOverlaps bounds the overlaps LeadershipDetails lists.
const maxLeadershipOverlaps = 1000

// LeadershipDetails are the leadership checker's figures.
type LeadershipDetails struct {
	// Nodes are the observed nodes, a lane each in the timeline: by
	// source (zk-mode, kraft-quorum, kafka-view), then by name.
	Nodes []LeadershipNode `json:"nodes"`
	// Observations counts the observer's calls, Unanswered those the
	// node did not answer.
	Observations int `json:"observations"`
	Unanswered   int `json:"unanswered"`
	// AnomalyCounts counts the overlaps of each kind, zeros included for
	// the kinds the observations could show.
	AnomalyCounts map[string]int `json:"anomaly_counts"`
	// Longest is the longest overlap of each kind found.
	Longest map[string]*LeadershipOverlap `json:"longest,omitempty"`
	// Overlaps are the overlaps in start order, at most 1000 (the
	// longest, when there are more).
	Overlaps []LeadershipOverlap `json:"overlaps"`
	// Start and End are the observations' span, in nanoseconds on the
	// history's clock.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// LeadershipNode is one observed node's beliefs over time.
type LeadershipNode struct {
	Node string `json:"node"`
	// Source is the f that observed it: zk-mode, kafka-view or
	// kraft-quorum.
	Source string `json:"source"`
	// ID is the node's own id, for brokers and KRaft controllers.
	ID *int64 `json:"id,omitempty"`
	// Intervals are its beliefs in time order, one after the other.
	Intervals []LeadershipInterval `json:"intervals"`
}

// LeadershipInterval is a time in which a node believed one thing.
type LeadershipInterval struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Role is what the node believed it was: a ZooKeeper mode (leader,
	// follower, looking, ...); for a broker "controller" or "broker"; for
	// a KRaft controller "leader", "follower" or "unattached" (no
	// leader known); "unanswered" while it did not answer.
	Role string `json:"role"`
	// Epoch is the ZooKeeper or KRaft epoch it named.
	Epoch int64 `json:"epoch,omitempty"`
	// Leads counts the partitions a broker believed it led.
	Leads int `json:"leads,omitempty"`
}

// LeadershipOverlap is a time in which two nodes both believed they led
// one thing.
type LeadershipOverlap struct {
	// Kind is zk-leader, controller, kraft-leader or partition-leader.
	Kind string `json:"kind"`
	// Partition is the partition of a partition-leader overlap.
	Partition string    `json:"partition,omitempty"`
	Nodes     [2]string `json:"nodes"`
	// Epochs are the epochs the two named (ZooKeeper, KRaft or the
	// partition's leader epoch; 0 for controllers).
	Epochs   [2]int64 `json:"epochs"`
	Start    int64    `json:"start"`
	End      int64    `json:"end"`
	Duration int64    `json:"duration"`
	// Faults are the faults in place at some time in the overlap.
	Faults []FaultWindow `json:"faults,omitempty"`
}

// The overlap kinds, as claims name them, and their anomalies.
var leadershipKinds = []struct {
	claim, anomaly, words, source string
}{
	{"zk-leader", "zk-leader-overlap", "zk leaders", "zk-mode"},
	{"kraft-leader", "kraft-leader-overlap", "kraft leaders", "kraft-quorum"},
	{"controller", "controller-overlap", "controllers", "kafka-view"},
	{"partition-leader", "partition-leader-overlap", "partition leaders", "kafka-view"},
}

// Summary renders e.g. "5 nodes observed; zk leaders 1 (longest 0.8s,
// during partition); controllers 0; partition leaders 0".
func (d *LeadershipDetails) Summary() (string, []string) {
	parts := []string{fmt.Sprintf("%d nodes observed", len(d.Nodes))}
	var lines []string
	for _, k := range leadershipKinds {
		n, ok := d.AnomalyCounts[k.anomaly]
		if !ok {
			continue
		}
		p := fmt.Sprintf("%s %d", k.words, n)
		if o := d.Longest[k.claim]; o != nil {
			p += fmt.Sprintf(" (longest %s, %s)", fmtDuration(o.Duration), faultKindsText(o.Faults))
			lines = append(lines, "longest: "+o.describe())
		}
		parts = append(parts, p)
	}
	lines = append([]string{fmt.Sprintf("observations: %d, %d unanswered", d.Observations, d.Unanswered)}, lines...)
	return strings.Join(parts, "; "), lines
}

// describe says what an overlap is, e.g. "zk1 (epoch 5) and zk3 (epoch 6)
// both in mode leader for 1.2s, from 10.000s to 11.200s, during
// partition".
func (o *LeadershipOverlap) describe() string {
	var what string
	switch o.Kind {
	case "zk-leader":
		what = fmt.Sprintf("%s (epoch %d) and %s (epoch %d) both in mode leader", o.Nodes[0], o.Epochs[0], o.Nodes[1], o.Epochs[1])
	case "kraft-leader":
		what = fmt.Sprintf("KRaft controllers %s (epoch %d) and %s (epoch %d) each named itself the quorum's leader", o.Nodes[0], o.Epochs[0], o.Nodes[1], o.Epochs[1])
		if o.Epochs[0] == o.Epochs[1] {
			what += " in the same epoch, which Raft forbids,"
		}
	case "controller":
		what = fmt.Sprintf("brokers %s and %s each named itself the controller", o.Nodes[0], o.Nodes[1])
	default:
		what = fmt.Sprintf("brokers %s (leader epoch %d) and %s (leader epoch %d) each named itself the leader of partition %s", o.Nodes[0], o.Epochs[0], o.Nodes[1], o.Epochs[1], o.Partition)
	}
	return fmt.Sprintf("%s for %s, from %.3fs to %.3fs, %s", what, fmtDuration(o.Duration), seconds(o.Start), seconds(o.End), faultKindsText(o.Faults))
}

// Check checks ops; see Leadership.
func (l Leadership) Check(ctx context.Context, ops []history.Op, opts Options) (res Result) {
	start := time.Now()
	res = Result{Checker: l.Name(), Valid: Unknown, Advisory: LeadershipAdvisory}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	if len(ops) > math.MaxInt32 {
		res.Error = fmt.Sprintf("the history has %d ops; the leadership checker takes at most %d", len(ops), math.MaxInt32)
		return res
	}
	c := &leaderCheck{ctx: ctx, ops: ops}
	if opts.Timeout > 0 {
		c.deadline = start.Add(opts.Timeout)
	}
	err := c.run()
	switch {
	case errors.Is(err, errLockStopped):
		if ctx.Err() != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("the check was cancelled (%v) before it finished: no verdict", context.Cause(ctx)))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("the check timed out after %v before it finished: no verdict; give it a longer timeout", opts.Timeout))
		}
		return res
	case err != nil:
		res.Error = err.Error()
		return res
	}
	d := c.details()
	res.Details = d
	res.AnomalyCounts = d.AnomalyCounts
	for _, k := range leadershipKinds {
		for _, ex := range c.examples[k.claim] {
			res.Anomalies = append(res.Anomalies, ex.a)
		}
	}
	switch {
	case len(c.overlaps) > 0:
		res.Valid = Invalid
	case c.answered == 0 && c.observations == 0:
		res.Notes = append(res.Notes, "the history has no observer ops: nothing was observed (run the test with the leadership observer)")
	case c.answered == 0:
		res.Notes = append(res.Notes, fmt.Sprintf("no node answered the observer (%d observations): nothing was observed", c.observations))
	default:
		res.Valid = Valid
	}
	return res
}

// leaderCheck is one run of the leadership checker.
type leaderCheck struct {
	ctx      context.Context
	deadline time.Time
	work     int
	ops      []history.Op

	end          int64 // the history's end
	obsEnd       int64 // the observer's last op
	faults       []FaultWindow
	lanes        map[laneKey]*lane
	observations int
	answered     int
	sources      map[string]bool // the fs observed, answered

	overlaps []LeadershipOverlap
	longest  map[string]*LeadershipOverlap
	counts   map[string]int
	examples map[string][]leaderExample
}

// laneKey names a lane: a node, as one f observed it.
type laneKey struct{ node, source string }

// lane is one node's observations, in order.
type lane struct {
	key  laneKey
	id   *int64
	obs  []observation
	ints []LeadershipInterval
}

// observation is one observer call on a node.
type observation struct {
	inv, done int32 // positions of the ops; done -1 if it never completed
	answered  bool
	start     int64 // when it began to hold
	role      string
	epoch     int64
	claims    []claimKey
}

// claimKey is one thing a node believed it led, with the epoch it named.
type claimKey struct {
	kind, partition string
	epoch           int64
}

// claim is a time in which a node believed it led one thing.
type claim struct {
	claimKey
	lane       *lane
	start, end int64
	first      int // the observation that began it
}

// leaderExample is an overlap kept as an example, with its length.
type leaderExample struct {
	dur int64
	a   Anomaly
}

func (c *leaderCheck) stopped() bool {
	c.work++
	if c.work&(1<<10-1) != 0 {
		return false
	}
	return c.ctx.Err() != nil || (!c.deadline.IsZero() && time.Now().After(c.deadline))
}

// observerValue is every field an observer op's value may have.
type observerValue struct {
	Node         string           `json:"node"`
	Mode         string           `json:"mode"`
	Epoch        int64            `json:"epoch"`
	ID           *int64           `json:"id"`
	Controller   *int64           `json:"controller"`
	Leaders      map[string]int64 `json:"leaders"`
	LeaderEpochs map[string]int64 `json:"leader_epochs"`
	Leader       *int64           `json:"leader"`
}

func observerMalformed(op *history.Op, format string, args ...any) error {
	return fmt.Errorf("malformed observer op: op index %d: %s", op.Index, fmt.Sprintf(format, args...))
}

// run reads the observer's calls and finds the overlaps.
func (c *leaderCheck) run() error {
	c.lanes = map[laneKey]*lane{}
	c.sources = map[string]bool{}
	var nemesis []history.Call
	pending, nemPending := int32(-1), int32(-1)
	for i := range c.ops {
		if c.stopped() {
			return errLockStopped
		}
		op := &c.ops[i]
		c.end = max(c.end, op.Time)
		switch op.Process {
		case history.Nemesis:
			if op.Type == history.Invoke {
				nemPending = int32(i)
				nemesis = append(nemesis, history.Call{Invoke: *op})
			} else if nemPending >= 0 {
				done := *op
				nemesis[len(nemesis)-1].Completion = &done
				nemPending = -1
			}
		case history.Observer:
			c.obsEnd = max(c.obsEnd, op.Time)
			if err := validateFields(op); err != nil {
				return fmt.Errorf("malformed history: op index %d: %w", op.Index, err)
			}
			if op.Type == history.Invoke {
				if pending >= 0 {
					return fmt.Errorf("malformed history: op index %d: process observer invokes %q while its invocation at index %d is still pending", op.Index, op.F, c.ops[pending].Index)
				}
				pending = int32(i)
				continue
			}
			if pending < 0 {
				return fmt.Errorf("malformed history: op index %d: process observer completes %q (%s) with no pending invocation", op.Index, op.F, op.Type)
			}
			if inv := &c.ops[pending]; inv.F != op.F || inv.Key != op.Key || op.Time < inv.Time {
				return fmt.Errorf("malformed history: op index %d: process observer completes %s %q but invoked %s %q at index %d (time %d)", op.Index, op.F, op.Key, inv.F, inv.Key, inv.Index, inv.Time)
			}
			if err := c.observe(pending, int32(i)); err != nil {
				return err
			}
			pending = -1
		}
	}
	if pending >= 0 {
		if err := c.observe(pending, -1); err != nil {
			return err
		}
	}
	c.faults = historyFaults(nemesis, c.end)
	return c.findOverlaps()
}

// observe records an observer call.
func (c *leaderCheck) observe(inv, done int32) error {
	iop := &c.ops[inv]
	switch iop.F {
	case "zk-mode", "kafka-view", "kraft-quorum":
	default:
		return observerMalformed(iop, "unknown f %q; the observer records zk-mode, kafka-view and kraft-quorum", iop.F)
	}
	var iv observerValue
	if len(iop.Value) > 0 {
		if err := json.Unmarshal(iop.Value, &iv); err != nil {
			return observerMalformed(iop, "%s value %s: %v", iop.F, clip(iop.Value), err)
		}
	}
	node := iv.Node
	if node == "" {
		node = iop.Node
	}
	if node == "" {
		return observerMalformed(iop, "%s invocation names no node; its value is {\"node\":\"zk1\"}", iop.F)
	}
	c.observations++
	key := laneKey{node, iop.F}
	ln := c.lanes[key]
	if ln == nil {
		ln = &lane{key: key}
		c.lanes[key] = ln
	}
	o := observation{inv: inv, done: done, start: iop.Time, role: "unanswered"}
	if done >= 0 && c.ops[done].Type == history.OK {
		dop := &c.ops[done]
		var v observerValue
		if err := json.Unmarshal(dop.Value, &v); err != nil || len(dop.Value) == 0 {
			return observerMalformed(dop, "ok %s value %s is not an object: %v", dop.F, clip(dop.Value), err)
		}
		if v.Node != "" && v.Node != node {
			return observerMalformed(dop, "ok %s names node %q, but its invocation asked %q", dop.F, v.Node, node)
		}
		o.answered, o.start = true, dop.Time
		c.answered++
		c.sources[iop.F] = true
		if err := c.beliefs(dop, &v, ln, &o); err != nil {
			return err
		}
	}
	ln.obs = append(ln.obs, o)
	return nil
}

// beliefs reads what an answered observation says the node believed.
func (c *leaderCheck) beliefs(op *history.Op, v *observerValue, ln *lane, o *observation) error {
	if op.F != "zk-mode" {
		if v.ID == nil {
			return observerMalformed(op, "ok %s has no \"id\": the observed node's own id, which its claims are told by", op.F)
		}
		if ln.id != nil && *ln.id != *v.ID {
			return observerMalformed(op, "%s of %s names id %d, earlier %d", op.F, ln.key.node, *v.ID, *ln.id)
		}
		ln.id = v.ID
	}
	switch op.F {
	case "zk-mode":
		if v.Mode == "" {
			return observerMalformed(op, "ok zk-mode has no \"mode\"")
		}
		o.role, o.epoch = v.Mode, v.Epoch
		if v.Mode == "leader" {
			o.claims = append(o.claims, claimKey{kind: "zk-leader", epoch: v.Epoch})
		}
	case "kraft-quorum":
		if v.Leader == nil {
			return observerMalformed(op, "ok kraft-quorum has no \"leader\" (-1 for none)")
		}
		o.epoch = v.Epoch
		switch {
		case *v.Leader == *v.ID:
			o.role = "leader"
			o.claims = append(o.claims, claimKey{kind: "kraft-leader", epoch: v.Epoch})
		case *v.Leader < 0:
			o.role = "unattached"
		default:
			o.role = "follower"
		}
	case "kafka-view":
		if v.Controller == nil {
			return observerMalformed(op, "ok kafka-view has no \"controller\" (-1 for none)")
		}
		o.role = "broker"
		if *v.Controller == *v.ID {
			o.role = "controller"
			o.claims = append(o.claims, claimKey{kind: "controller"})
		}
		for _, p := range slices.Sorted(maps.Keys(v.Leaders)) {
			if v.Leaders[p] == *v.ID {
				o.claims = append(o.claims, claimKey{kind: "partition-leader", partition: p, epoch: v.LeaderEpochs[p]})
			}
		}
	}
	return nil
}

// findOverlaps makes each lane's intervals and claims, and finds the
// overlapping claims of different nodes.
func (c *leaderCheck) findOverlaps() error {
	c.longest = map[string]*LeadershipOverlap{}
	c.counts = map[string]int{}
	c.examples = map[string][]leaderExample{}
	byKind := map[claimKey][]*claim{} // by kind and partition; epoch 0
	lanes := c.sortedLanes()
	// A broker of a KRaft cluster names, as the controller, a broker of
	// its choosing (often itself), not the quorum's leader: with KRaft
	// controllers observed, a broker's "controller" is no claim.
	kraft := slices.ContainsFunc(lanes, func(ln *lane) bool { return ln.key.source == "kraft-quorum" })
	for _, ln := range lanes {
		open := map[claimKey]*claim{} // by kind and partition
		for i := range ln.obs {
			if c.stopped() {
				return errLockStopped
			}
			o := &ln.obs[i]
			if kraft && ln.key.source == "kafka-view" {
				o.claims = slices.DeleteFunc(o.claims, func(k claimKey) bool { return k.kind == "controller" })
				if o.role == "controller" {
					o.role = "broker"
				}
			}
			end := max(c.obsEnd, o.start)
			if i+1 < len(ln.obs) {
				end = ln.obs[i+1].start
			}
			c.interval(ln, o, end)
			seen := map[claimKey]bool{}
			for _, k := range o.claims {
				slot := claimKey{kind: k.kind, partition: k.partition}
				seen[slot] = true
				if cl := open[slot]; cl != nil && cl.epoch == k.epoch && cl.end == o.start {
					cl.end = end
					continue
				}
				cl := &claim{claimKey: k, lane: ln, start: o.start, end: end, first: i}
				open[slot] = cl
				byKind[slot] = append(byKind[slot], cl)
			}
			for slot := range open {
				if !seen[slot] {
					delete(open, slot)
				}
			}
		}
	}
	for _, slot := range slices.SortedFunc(maps.Keys(byKind), func(a, b claimKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), comparePartitions(a.partition, b.partition))
	}) {
		claims := byKind[slot]
		slices.SortStableFunc(claims, func(a, b *claim) int { return cmp.Compare(a.start, b.start) })
		var active []*claim
		for _, b := range claims {
			keep := active[:0]
			for _, a := range active {
				if a.end > b.start {
					keep = append(keep, a)
				}
			}
			active = keep
			for _, a := range active {
				if c.stopped() {
					return errLockStopped
				}
				if a.lane.key.node == b.lane.key.node {
					continue
				}
				if end := min(a.end, b.end); end > b.start {
					c.overlap(a, b, b.start, end)
				}
			}
			if b.end > b.start {
				active = append(active, b)
			}
		}
	}
	slices.SortStableFunc(c.overlaps, func(a, b LeadershipOverlap) int { return cmp.Compare(a.Start, b.Start) })
	return nil
}

// comparePartitions orders partitions by number, then by name.
func comparePartitions(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}

// interval adds observation o, holding until end, to its lane's
// intervals, merging it into the last if it believed the same.
func (c *leaderCheck) interval(ln *lane, o *observation, end int64) {
	leads := 0
	for _, k := range o.claims {
		if k.kind == "partition-leader" {
			leads++
		}
	}
	iv := LeadershipInterval{Start: o.start, End: end, Role: o.role, Epoch: o.epoch, Leads: leads}
	if n := len(ln.ints); n > 0 {
		last := &ln.ints[n-1]
		if last.End == iv.Start && last.Role == iv.Role && last.Epoch == iv.Epoch && last.Leads == iv.Leads {
			last.End = iv.End
			return
		}
	}
	ln.ints = append(ln.ints, iv)
}

// overlap records the overlap of claims a and b (a began first).
func (c *leaderCheck) overlap(a, b *claim, start, end int64) {
	o := LeadershipOverlap{Kind: a.kind, Partition: a.partition, Nodes: [2]string{a.lane.key.node, b.lane.key.node},
		Epochs: [2]int64{a.epoch, b.epoch}, Start: start, End: end, Duration: end - start,
		Faults: activeFaults(c.faults, start, end)}
	c.counts[o.Kind]++
	if l := c.longest[o.Kind]; l == nil || o.Duration > l.Duration {
		c.longest[o.Kind] = &o
	}
	c.overlaps = append(c.overlaps, o)
	if len(c.overlaps) > 2*maxLeadershipOverlaps { // keep the longest
		slices.SortStableFunc(c.overlaps, func(x, y LeadershipOverlap) int { return cmp.Compare(y.Duration, x.Duration) })
		c.overlaps = c.overlaps[:maxLeadershipOverlaps]
	}
	ex := c.examples[o.Kind]
	if len(ex) == maxLockExamples && o.Duration <= ex[len(ex)-1].dur {
		return
	}
	var ops []history.Op
	for _, cl := range []*claim{a, b} {
		ob := &cl.lane.obs[cl.first]
		ops = append(ops, c.ops[ob.inv])
		if ob.done >= 0 {
			ops = append(ops, c.ops[ob.done])
		}
	}
	slices.SortFunc(ops, func(x, y history.Op) int { return cmp.Compare(x.Index, y.Index) })
	at := ops[len(ops)-1]
	an := Anomaly{Kind: kindOfClaim(o.Kind), Key: o.Partition, Message: o.describe(), At: &at, Ops: ops}
	i := len(ex)
	for i > 0 && ex[i-1].dur < o.Duration {
		i--
	}
	ex = slices.Insert(ex, i, leaderExample{o.Duration, an})
	c.examples[o.Kind] = ex[:min(len(ex), maxLockExamples)]
}

// kindOfClaim names the anomaly of a claim's kind.
func kindOfClaim(claim string) string {
	for _, k := range leadershipKinds {
		if k.claim == claim {
			return k.anomaly
		}
	}
	return claim + "-overlap"
}

// sortedLanes returns the lanes by source (ZooKeeper, KRaft, brokers),
// then by node name, numbers in names in numeric order.
func (c *leaderCheck) sortedLanes() []*lane {
	order := map[string]int{"zk-mode": 0, "kraft-quorum": 1, "kafka-view": 2}
	lanes := slices.Collect(maps.Values(c.lanes))
	slices.SortFunc(lanes, func(a, b *lane) int {
		return cmp.Or(cmp.Compare(order[a.key.source], order[b.key.source]),
			comparePartitions(a.key.node, b.key.node))
	})
	return lanes
}

// details gathers the figures of LeadershipDetails.
func (c *leaderCheck) details() *LeadershipDetails {
	d := &LeadershipDetails{Observations: c.observations, AnomalyCounts: map[string]int{},
		Longest: c.longest, Overlaps: c.overlaps, Nodes: []LeadershipNode{}, End: c.obsEnd}
	if len(d.Overlaps) > maxLeadershipOverlaps {
		slices.SortStableFunc(d.Overlaps, func(x, y LeadershipOverlap) int { return cmp.Compare(y.Duration, x.Duration) })
		d.Overlaps = d.Overlaps[:maxLeadershipOverlaps]
	}
	slices.SortStableFunc(d.Overlaps, func(a, b LeadershipOverlap) int { return cmp.Compare(a.Start, b.Start) })
	if d.Overlaps == nil {
		d.Overlaps = []LeadershipOverlap{}
	}
	for _, k := range leadershipKinds {
		if c.sources[k.source] {
			d.AnomalyCounts[k.anomaly] = c.counts[k.claim]
		}
	}
	d.Start = c.obsEnd
	for _, ln := range c.sortedLanes() {
		for _, o := range ln.obs {
			if !o.answered {
				d.Unanswered++
			}
		}
		if len(ln.ints) > 0 {
			d.Start = min(d.Start, ln.ints[0].Start)
		}
		d.Nodes = append(d.Nodes, LeadershipNode{Node: ln.key.node, Source: ln.key.source, ID: ln.id, Intervals: ln.ints})
	}
	if len(d.Nodes) == 0 {
		d.Start = 0
	}
	return d
}
