package nemesis

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/cluster"
)

// KindBind is a scripted step that names nodes by what they are at that
// moment ("the ZooKeeper leader", "the follower with the highest myid"),
// for later steps to aim at as $NAME. It is recorded as a "bind" op.
const KindBind Kind = "bind"

// KindWait is a scripted step that injects nothing: it waits (after, start,
// when) and is recorded as a "wait" op when its conditions held, so that
// later steps can start a set time after a condition ("after":
// "shrunk.started", "start": "5s").
const KindWait Kind = "wait"

// notFault says whether a step kind is one of the scripted steps that
// inject nothing.
func notFault(k Kind) bool { return k == KindBind || k == KindWait }

// Conditions a scripted step can wait for (Condition.Is).
const (
	// IsLeader: a ZooKeeper node says it leads (srvr); a broker or KRaft
	// controller is the active controller.
	IsLeader = "leader"
	// IsFollower: a ZooKeeper node says it follows (srvr).
	IsFollower = "follower"
	// IsRunning and IsDown: the node's server process is alive (paused
	// counts as alive), or not.
	IsRunning = "running"
	IsDown    = "down"
	// IsInISR and IsOutOfISR: a broker is in the ISR of every partition
	// of the workload's topic, or of none.
	IsInISR    = "in-isr"
	IsOutOfISR = "out-of-isr"
	// IsLockHolder: a client host has a process that believes it holds a
	// lock and is early in a pause, no call in flight, with writes left
	// (the workload answers it: zk-lock does). A cut that starts then
	// finds the holder idle, so the client notices it only later.
	IsLockHolder = "lock-holder"
)

var conditionWords = []string{IsLeader, IsFollower, IsRunning, IsDown, IsInISR, IsOutOfISR, IsLockHolder}

// Condition is something the cluster or the schedule can answer now. Give
// exactly one of: Node and Is ("zk3 is follower"), Step (an earlier
// step's event, "k1.started" or "k1.stopped"), or Healthy (every node
// serves, as the cluster's health check says).
type Condition struct {
	Node    string `json:"node,omitempty"`
	Is      string `json:"is,omitempty"`
	Step    string `json:"step,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
}

// String says the condition in words.
func (c Condition) String() string {
	switch {
	case c.Step != "":
		return "step " + c.Step
	case c.Healthy:
		return "the cluster is healthy"
	}
	return c.Node + " is " + c.Is
}

// Bind resolvers (the values of a bind step's map).
const (
	BindZKFollowerHighest    = "zk-follower:highest"
	BindZKFollowerLowest     = "zk-follower:lowest"
	BindKafkaFollowerHighest = "kafka-follower:highest"
	BindKafkaFollowerLowest  = "kafka-follower:lowest"
	// BindLockHolder waits (up to the step's timeout) for a client host
	// that is a lock-holder (IsLockHolder, the workload answers) and
	// binds the first, in order c1, c2, ….
	BindLockHolder = IsLockHolder
)

var bindWords = []string{TargetZKLeader, BindZKFollowerHighest, BindZKFollowerLowest, TargetKafkaController, TargetKRaftLeader, TargetKafkaLeader, BindKafkaFollowerHighest, BindKafkaFollowerLowest, BindLockHolder}

// DefaultConditionTimeout bounds a step's wait for its When and Until
// conditions when it gives no Timeout.
const DefaultConditionTimeout = 2 * time.Minute

// scripted says whether a step uses what only a scripted schedule has:
// events, conditions or bindings.
func (s Step) scripted() bool {
	return s.ID != "" || s.After != "" || len(s.When) > 0 || len(s.Until) > 0 || s.For > 0 || notFault(s.Kind)
}

// Scripted says whether a schedule is a script: a step of it has an id,
// waits for an event or a condition, or binds names. A drawn schedule (and
// its replay) is not.
func Scripted(steps []Step) bool {
	return slices.ContainsFunc(steps, Step.scripted)
}

// UnmarshalJSON reads a step, taking its durations either as nanoseconds
// (as test.json records them) or as text ("5s", "1m30s").
func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step
	raw := struct {
		*plain
		Start   json.RawMessage `json:"start"`
		Stop    json.RawMessage `json:"stop"`
		For     json.RawMessage `json:"for"`
		Timeout json.RawMessage `json:"timeout"`
	}{plain: (*plain)(s)}
	*s = Step{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		raw  json.RawMessage
		dst  *time.Duration
	}{{"start", raw.Start, &s.Start}, {"stop", raw.Stop, &s.Stop}, {"for", raw.For, &s.For}, {"timeout", raw.Timeout, &s.Timeout}} {
		v, err := parseDuration(d.raw)
		if err != nil {
			return fmt.Errorf("%q: %w", d.name, err)
		}
		*d.dst = v
	}
	return nil
}

// parseDuration reads a JSON duration: a number of nanoseconds, or text
// time.ParseDuration reads.
func parseDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		d, err := time.ParseDuration(text)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: give one such as \"5s\" or \"1m30s\"", text)
		}
		return d, nil
	}
	var ns int64
	if err := json.Unmarshal(raw, &ns); err != nil {
		return 0, fmt.Errorf("%s is not a duration: give one such as \"5s\", or nanoseconds", raw)
	}
	return time.Duration(ns), nil
}

// ScheduleFile is a schedule written by hand (--schedule): either a JSON
// list of steps, or an object whose "nemesis_schedule" or "schedule" is
// one (so a run's test.json is a schedule file too).
func ReadScheduleFile(path string) ([]Step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--schedule: %w", err)
	}
	steps, err := ParseSchedule(b)
	if err != nil {
		return nil, fmt.Errorf("--schedule %s: %w", path, err)
	}
	return steps, nil
}

// ParseSchedule reads a schedule: a JSON list of steps, or an object
// holding one under "nemesis_schedule" or "schedule".
func ParseSchedule(b []byte) ([]Step, error) {
	trimmed := strings.TrimSpace(string(b))
	if strings.HasPrefix(trimmed, "{") {
		var holder map[string]json.RawMessage
		if err := json.Unmarshal(b, &holder); err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		inner, ok := holder["nemesis_schedule"]
		if !ok {
			inner, ok = holder["schedule"]
		}
		if !ok {
			return nil, errors.New("the object has no \"schedule\" (or \"nemesis_schedule\", as test.json has): give a list of steps")
		}
		b = inner
	}
	var steps []Step
	if err := json.Unmarshal(b, &steps); err != nil {
		return nil, fmt.Errorf("not a list of steps: %w", err)
	}
	if len(steps) == 0 {
		return nil, errors.New("the schedule has no step: give at least one, or run without --schedule")
	}
	return steps, nil
}

// ScheduleKinds lists the kinds of fault a schedule injects, in order of
// first appearance (bind steps are not faults).
func ScheduleKinds(steps []Step) []Kind {
	var kinds []Kind
	for _, s := range steps {
		if !notFault(s.Kind) && !slices.Contains(kinds, s.Kind) {
			kinds = append(kinds, s.Kind)
		}
	}
	return kinds
}

// ValidateSchedule checks a given schedule against the cluster's nodes
// before anything runs: kinds, targets, shapes, the events steps wait
// for, the names they aim at. Each error names the step (by its id, or
// its place in the list) and the fix.
func ValidateSchedule(steps []Step, o Options, nodes []NodeInfo, faults []Fault) error {
	// A script names its nodes itself: every role is fair game.
	o.Roles = []cluster.Role{cluster.RoleZooKeeper, cluster.RoleKafka, cluster.RoleController}
	names := nodeNames(nodes)
	ids := map[string]int{}
	bound := map[string]bool{}
	var errs []error
	bad := func(i int, s Step, format string, args ...any) {
		where := fmt.Sprintf("step %d", i+1)
		if s.ID != "" {
			where += fmt.Sprintf(" (%s)", s.ID)
		}
		errs = append(errs, fmt.Errorf("--schedule %s: %s", where, fmt.Sprintf(format, args...)))
	}
	nodeRef := func(i int, s Step, what, n string) {
		if v, ok := strings.CutPrefix(n, "$"); ok {
			if !bound[v] {
				bad(i, s, "%s %s is not bound by an earlier bind step: add {\"kind\":\"bind\",\"bind\":{%q:\"zk-leader\"}} before it", what, n, v)
			}
			return
		}
		if !slices.Contains(names, n) {
			bad(i, s, "%s %q is not a node: choose among %s, or a $NAME bound earlier", what, n, strings.Join(names, ","))
		}
	}
	checkConds := func(i int, s Step, field string, conds []Condition) {
		for _, c := range conds {
			set := 0
			if c.Node != "" || c.Is != "" {
				set++
			}
			if c.Step != "" {
				set++
			}
			if c.Healthy {
				set++
			}
			if set != 1 {
				bad(i, s, "a %q condition must give one of {\"node\":N,\"is\":W}, {\"step\":\"ID.started\"}, {\"healthy\":true}; got %+v", field, c)
				continue
			}
			switch {
			case c.Step != "":
				id, ev, ok := strings.Cut(c.Step, ".")
				if !ok || (ev != "started" && ev != "stopped") {
					bad(i, s, "%q condition step %q: give ID.started or ID.stopped", field, c.Step)
				} else if _, known := ids[id]; !known && id != s.ID {
					bad(i, s, "%q condition step %q names no step: give an id of a step in the schedule", field, c.Step)
				}
			case c.Node != "":
				nodeRef(i, s, field+" condition node", c.Node)
				if !slices.Contains(conditionWords, c.Is) {
					bad(i, s, "%q condition: %q is not a condition: choose %s", field, c.Is, strings.Join(conditionWords, ", "))
				}
				if (c.Is == IsInISR || c.Is == IsOutOfISR) && !slices.ContainsFunc(nodes, func(n NodeInfo) bool { return n.Role == cluster.RoleKafka }) {
					bad(i, s, "%q condition %s needs brokers, and the cluster has none", field, c)
				}
				if c.Is == IsLockHolder && !strings.HasPrefix(c.Node, "$") && !slices.ContainsFunc(nodes, func(n NodeInfo) bool { return n.Name == c.Node && n.Role == cluster.RoleClient }) {
					bad(i, s, "%q condition %s: lock-holder asks about a client host's processes: name a client host (c1, …; --client-hosts)", field, c)
				}
			default:
				if c.Is != "" {
					bad(i, s, "%q condition gives \"is\" without \"node\"", field)
				}
			}
		}
	}
	// The ids first: conditions may name a later step ("until k3.started").
	for i, s := range steps {
		if s.ID == "" {
			continue
		}
		if strings.ContainsAny(s.ID, ". $") {
			bad(i, s, "id %q may not hold '.', '$' or spaces", s.ID)
		}
		if j, dup := ids[s.ID]; dup {
			bad(i, s, "id %q is also step %d's: give each step its own", s.ID, j+1)
		}
		ids[s.ID] = i
	}
	for i, s := range steps {
		if s.Start < 0 || s.Stop < 0 || s.For < 0 || s.Timeout < 0 {
			bad(i, s, "durations may not be negative")
		}
		if s.After != "" {
			id, ev, ok := strings.Cut(s.After, ".")
			j, known := ids[id]
			switch {
			case !ok || (ev != "started" && ev != "stopped"):
				bad(i, s, "\"after\" %q: give ID.started or ID.stopped", s.After)
			case !known:
				bad(i, s, "\"after\" %q names no step: give an id of an earlier step", s.After)
			case j >= i:
				bad(i, s, "\"after\" %q names a step that comes later (step %d): order the list so a step comes after what it waits for", s.After, j+1)
			}
			if s.Stop > 0 {
				bad(i, s, "\"stop\" counts from the workload's start, and the step starts after %s: give \"for\" instead", s.After)
			}
		}
		if s.Stop > 0 && s.Stop <= s.Start {
			bad(i, s, "\"stop\" %s is not after \"start\" %s", s.Stop, s.Start)
		}
		checkConds(i, s, "when", s.When)
		checkConds(i, s, "until", s.Until)
		if s.Kind == KindWait {
			if s.Target != "" || len(s.Bind) > 0 || s.Stop > 0 || s.For > 0 || len(s.Until) > 0 {
				bad(i, s, "a wait step only waits (after, start, when): it takes no target, bind, stop, for or until")
			}
			if s.ID == "" {
				bad(i, s, "a wait step needs an \"id\" for the steps that wait on it")
			}
			continue
		}
		if s.Kind == KindBind {
			if len(s.Bind) == 0 {
				bad(i, s, "a bind step needs \"bind\": {\"NAME\": \"zk-leader\", …}")
			}
			for name, what := range s.Bind {
				if name == "" || strings.ContainsAny(name, "$ ,|") {
					bad(i, s, "bind name %q: give a plain name such as L or F1 (used as $L)", name)
				}
				if !slices.Contains(bindWords, what) && !slices.Contains(names, what) {
					bad(i, s, "bind %s: %q is neither a node nor one of %s", name, what, strings.Join(bindWords, ", "))
				}
				bound[name] = true
			}
			if s.Stop > 0 || s.For > 0 || len(s.Until) > 0 {
				bad(i, s, "a bind step takes no stop, for or until: it only names nodes")
			}
			continue
		}
		f, ok := faultOf(faults, s.Kind)
		if !ok {
			bad(i, s, "%q is not a fault: choose from %s, or bind, wait", s.Kind, kindList(faults))
			continue
		}
		if len(s.Bind) > 0 {
			bad(i, s, "\"bind\" belongs to a bind step: give it {\"kind\":\"bind\"}")
		}
		switch s.Kind {
		case KindPartition:
			if s.Shape == ShapeIsolate {
				if s.Target == "" {
					bad(i, s, "shape isolate cuts the \"target\" nodes off from the rest: give \"target\", e.g. \"$F2\" or \"zk3,zk4\"")
				}
				for _, n := range splitTargets(s.Target) {
					nodeRef(i, s, "target", n)
				}
				continue
			}
			po := o
			po.Partition, po.Grudge = s.Shape, ""
			if len(s.Grudge) > 0 {
				po.Partition = ShapeGrudge
				if err := s.Grudge.validate(names); err != nil {
					bad(i, s, "grudge: %v", err)
				}
				continue
			}
			if po.Partition == "" || po.Partition == ShapeGrudge {
				bad(i, s, "a partition step needs a \"shape\" (e.g. zk-leader, isolate with a target) or a \"grudge\"")
				continue
			}
			if err := f.Validate(po, nodes); err != nil {
				bad(i, s, "%v", err)
			}
		default:
			if s.Target == "" && len(s.Nodes) == 0 {
				bad(i, s, "a %s step needs a \"target\": node names, $NAME, or one of one, minority, majority, all, zk-leader, kafka-controller, kraft-leader, kafka-leader", s.Kind)
				continue
			}
			if hasVar(s.Target) {
				for _, n := range splitTargets(s.Target) {
					nodeRef(i, s, "target", n)
				}
				continue
			}
			to := o
			to.Target = s.Target
			if to.Target == "" {
				to.Target = strings.Join(s.Nodes, ",")
			}
			if err := f.Validate(to, nodes); err != nil {
				bad(i, s, "%v", err)
			}
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%w (and %d more problems in the schedule)", errs[0], len(errs)-1)
}

func hasVar(target string) bool { return strings.Contains(target, "$") }

func splitTargets(target string) []string {
	var out []string
	for _, t := range strings.Split(target, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// validate checks that a grudge names only known nodes.
func (g Grudge) validate(names []string) error {
	for n, peers := range g {
		if !slices.Contains(names, n) {
			return fmt.Errorf("no node %q", n)
		}
		for _, p := range peers {
			if !slices.Contains(names, p) {
				return fmt.Errorf("%s drops %q, which is not a node", n, p)
			}
			if p == n {
				return fmt.Errorf("%s drops itself", n)
			}
		}
	}
	return nil
}
