package checker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/faultline/faultline/history"
)

// Lock checks a zk-lock history (docs/history.md): clients take a lock
// made of ZooKeeper's lock recipe (an ephemeral sequential node under the
// lock's znode; the lowest holds it), write to a resource the lock
// protects, and release the lock or lose it. The fencing token of a hold
// is its lock node's creation zxid.
//
// A process believes it holds a lock from its acquire's ok completion
// until the first of: the invocation of its release of that token, its
// lose op, an info op of the process (the process is retired; whether it
// still held the lock is unknown, and the result's notes count these),
// the history's end. Checked:
//   - split-brain: two processes believed they held one lock at once.
//     Every such overlap is counted, with the pair, when it began and
//     ended on the history's clock, and the faults in place then. An
//     overlap of two fenced clients is counted apart and is not an
//     anomaly: fencing is what makes one harmless, and fencing-violation
//     judges whether it did; a pair with a naive or careful client is one.
//   - fencing-violation: the resource accepted (an ok write) a write whose
//     token was below one it had already accepted on that lock, in the
//     resource's order (that of the ok writes' zxids). For a fenced client
//     the resource's fencing failed; for a naive or careful one, whose
//     tokens the resource does not check, a deposed holder's write landed
//     after its successor's: the lock did not protect the resource.
//   - stale-write: an ok write with a token its process did not believe
//     it held when it invoked the write (it had released or lost that
//     lock, or never acquired it with that token). It is invalid, not a
//     harness error: whatever made the client write, the resource took a
//     write no lock protected, and a client that writes outside its belief
//     would hide split brains from this checker.
//   - mutex-violation: ZooKeeper granted the lock to two processes at once,
//     as far as its own facts prove it (a mutex model of acquire and
//     release, judged without search): one node granted to two processes
//     (one token, two ok acquires); an acquire granted a node while an
//     older one provably still existed, because its holder's release of it
//     later succeeded (the release deleted it), or because that older node
//     was itself granted only after this acquire completed (ok acquires
//     in real-time order must have rising tokens). Lock nodes are
//     sequential, so a node with a lower token is older, and the recipe
//     grants a node only when no older one exists.
//   - leaked-lock: a lock node the final locks read (after the heal)
//     still found, although its session had ended (its process was
//     retired by an info op, or was told its session expired, or stopped
//     with the workload, which closes its sessions) at least the session
//     timeout plus LockLeakMargin before the read, and the faults had
//     ended as long before: ZooKeeper must have deleted an ephemeral node
//     of an ended session by then. A node found sooner is not judged (the
//     notes say how many).
//
// Besides, it counts writes the resource rejected as fenced, and deposed
// writes: ok writes invoked after another process had been granted the
// lock with a newer token (ZooKeeper had given the lock away, so the
// writer's node was gone); fencing allows these while no newer token has
// written.
//
// The verdict is Invalid if any anomaly was found, else Unknown when no
// acquire completed ok (nothing was tested), else Valid. A malformed
// history is Unknown with Error naming the op at fault; a check that ctx or
// Options.Timeout stops is Unknown with a note. Each kind lists at most 10
// examples (split-brain: the 10 longest), each with the lock as its Key,
// the op it shows at and the ops involved. Time and memory are linear in
// the history, but for split brains, which are found pair by pair.
//
// Result.Details is a *LockDetails.
type Lock struct {
	// SessionTimeout is the ZooKeeper session timeout the workload's
	// clients asked for. Zero means the final locks read's
	// "session_timeout_ms", or DefaultLockSessionTimeout if it has none.
	SessionTimeout time.Duration
}

// LockLeakMargin is how long after its session's timeout an ephemeral
// lock node may outlive an ended session (time for the leader to notice,
// or for a new leader to be elected and give every session a fresh
// timeout) before it counts as leaked.
const LockLeakMargin = 10 * time.Second

// DefaultLockSessionTimeout is the session timeout Lock assumes when it is
// told none: ZooKeeper's default longest, 20 ticks of 2 s.
const DefaultLockSessionTimeout = 40 * time.Second

// Name returns "lock".
func (Lock) Name() string { return "lock" }

// LockDetails are the lock checker's figures.
type LockDetails struct {
	// Locks counts the locks in the history.
	Locks int `json:"locks"`
	// ByF counts client calls per f and outcome.
	ByF map[string]Counts `json:"by_f"`
	// Acquires counts the ok acquires, per client kind in ByClient
	// (naive, careful, fenced; "" when the invocation named none).
	Acquires int            `json:"acquires"`
	ByClient map[string]int `json:"by_client"`
	// AnomalyCounts counts the anomalies of each kind, zeros included.
	AnomalyCounts map[string]int `json:"anomaly_counts"`
	// EndedByInfo counts the beliefs that ended at an info op: whether the
	// lock was still held then is unknown.
	EndedByInfo int `json:"ended_by_info"`
	// SplitBrains counts the split-brain overlaps (AnomalyCounts's
	// "split-brain"), Longest is the longest of them.
	SplitBrains int          `json:"split_brains"`
	Longest     *LockOverlap `json:"longest,omitempty"`
	// FencedOverlaps counts the overlaps of two fenced clients' beliefs,
	// not anomalies; LongestFenced is the longest.
	FencedOverlaps int          `json:"fenced_overlaps"`
	LongestFenced  *LockOverlap `json:"longest_fenced,omitempty"`
	// Writes counts the ok writes; Fenced the writes the resource rejected
	// as fenced; Deposed the ok writes invoked after another process had
	// been granted the lock with a newer token.
	Writes  int `json:"writes"`
	Fenced  int `json:"fenced"`
	Deposed int `json:"deposed"`
	// FinalRead is what the final locks read found, nil without one.
	FinalRead *LockFinalRead `json:"final_read,omitempty"`

	// Holds are the beliefs, in the order their acquires were invoked,
	// and Overlaps every overlap of two beliefs in one lock (split brains
	// and fenced ones), for the holders' picture; at most MaxLockHolds
	// and MaxLockOverlaps, HoldsLeft and OverlapsLeft counting the rest.
	// They are not stored in results.json: the picture is drawn from them
	// as the check runs.
	Holds        []LockHold    `json:"-"`
	HoldsLeft    int           `json:"-"`
	Overlaps     []LockOverlap `json:"-"`
	OverlapsLeft int           `json:"-"`
}

// LockHold is a time in which a process believed it held a lock: from its
// acquire's ok completion to End (see Lock), in nanoseconds on the
// history's clock.
type LockHold struct {
	Lock    string
	Process history.Process
	Client  string // naive, careful, fenced ("" if the acquire named none)
	Token   int64
	Start   int64
	End     int64
}

// The most holds and overlaps LockDetails keeps for the picture.
const (
	MaxLockHolds    = 50_000
	MaxLockOverlaps = 10_000
)

// LockOverlap is a time in which two processes both believed they held a
// lock: from Start to End, in nanoseconds on the history's clock.
type LockOverlap struct {
	Lock      string             `json:"lock"`
	Processes [2]history.Process `json:"processes"`
	Clients   [2]string          `json:"clients"`
	Tokens    [2]int64           `json:"tokens"`
	Start     int64              `json:"start"`
	End       int64              `json:"end"`
	Duration  int64              `json:"duration"`
	// Faults are the faults in place at some time in the overlap.
	Faults []FaultWindow `json:"faults,omitempty"`
}

// LockFinalRead is what the final locks read found.
type LockFinalRead struct {
	// Time is when the read was invoked.
	Time int64 `json:"time"`
	// Nodes counts the lock nodes it found, Leaked those that count as
	// leaked-lock, NotDue those found too soon to judge.
	Nodes  int `json:"nodes"`
	Leaked int `json:"leaked"`
	NotDue int `json:"not_due"`
	// SessionTimeout is the session timeout judged by, in nanoseconds.
	SessionTimeout int64 `json:"session_timeout"`
}

// Summary renders e.g. "3 locks, 412 acquires; split brain 2 (longest
// 8.3s, during partition); fencing violations 0" and lines for the rest.
func (d *LockDetails) Summary() (string, []string) {
	head := fmt.Sprintf("%d locks, %d acquires; split brain %d", d.Locks, d.Acquires, d.SplitBrains)
	if d.Longest != nil {
		head += fmt.Sprintf(" (longest %s, %s)", fmtDuration(d.Longest.Duration), faultKindsText(d.Longest.Faults))
	}
	head += fmt.Sprintf("; fencing violations %d", d.AnomalyCounts["fencing-violation"])
	var lines []string
	if n := d.AnomalyCounts["stale-write"]; n > 0 {
		lines = append(lines, fmt.Sprintf("stale writes (ok writes outside their process's belief): %d", n))
	}
	if n := d.AnomalyCounts["mutex-violation"]; n > 0 {
		lines = append(lines, fmt.Sprintf("ZooKeeper granted a lock twice at once: %d", n))
	}
	if d.FencedOverlaps > 0 {
		l := fmt.Sprintf("fenced clients' overlapping beliefs (harmless while fencing holds): %d", d.FencedOverlaps)
		if d.LongestFenced != nil {
			l += fmt.Sprintf(", longest %s, %s", fmtDuration(d.LongestFenced.Duration), faultKindsText(d.LongestFenced.Faults))
		}
		lines = append(lines, l)
	}
	if d.Writes > 0 || d.Fenced > 0 {
		lines = append(lines, fmt.Sprintf("writes: %d ok, %d rejected as fenced, %d ok from a deposed holder", d.Writes, d.Fenced, d.Deposed))
	}
	if f := d.FinalRead; f != nil {
		l := fmt.Sprintf("final locks read at %.1fs: %d lock nodes left, %d leaked", seconds(f.Time), f.Nodes, f.Leaked)
		if f.NotDue > 0 {
			l += fmt.Sprintf(", %d too soon to judge", f.NotDue)
		}
		lines = append(lines, l)
	}
	return head, lines
}

// fmtDuration renders nanoseconds as seconds, e.g. "12s", "8.3s" or
// "0.012s".
func fmtDuration(ns int64) string {
	s := seconds(ns)
	switch {
	case s >= 10:
		return fmt.Sprintf("%.0fs", s)
	case s >= 1:
		return fmt.Sprintf("%.1fs", s)
	}
	return fmt.Sprintf("%.3fs", s)
}

// errLockStopped says the check ran out of time or was cancelled.
var errLockStopped = errors.New("stopped")

// Check checks ops; see Lock.
func (l Lock) Check(ctx context.Context, ops []history.Op, opts Options) (res Result) {
	start := time.Now()
	res = Result{Checker: l.Name(), Valid: Unknown}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	if len(ops) > math.MaxInt32 {
		res.Error = fmt.Sprintf("the history has %d ops; the lock checker takes at most %d", len(ops), math.MaxInt32)
		return res
	}
	c := &lockCheck{ctx: ctx, sessionTimeout: l.SessionTimeout}
	if opts.Timeout > 0 {
		c.deadline = start.Add(opts.Timeout)
	}
	err := c.run(ops)
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
	res.Counts = c.counts
	d := c.details()
	res.Details = d
	res.AnomalyCounts = d.AnomalyCounts
	res.Anomalies = c.found.anomalies()
	res.Notes = append(res.Notes, c.notes...)
	switch {
	case c.found.total() > 0:
		res.Valid = Invalid
	case d.Acquires == 0:
		res.Notes = append(res.Notes, "no acquire completed ok, so nothing was tested; check that the clients could reach ZooKeeper")
	default:
		res.Valid = Valid
	}
	return res
}

// lockKind is a kind of anomaly the lock checker reports.
type lockKind uint8

const (
	lockSplitBrain lockKind = iota
	lockFencingViolation
	lockStaleWrite
	lockMutexViolation
	lockLeaked
	lockKinds
)

// String returns the kind's name in results.
func (k lockKind) String() string {
	return [...]string{"split-brain", "fencing-violation", "stale-write", "mutex-violation", "leaked-lock", "unknown"}[min(k, lockKinds)]
}

// maxLockExamples is how many anomalies of each kind a result shows.
const maxLockExamples = 10

// lockFindings counts anomalies and keeps examples: the first few of each
// kind, and of split brains the longest.
type lockFindings struct {
	counts   [lockKinds]int
	examples [lockKinds][]Anomaly
	longest  []lockExample // split brains, longest first
}

// lockExample is a split brain kept as an example, with its length.
type lockExample struct {
	dur int64
	a   Anomaly
}

// note counts an anomaly of kind k and reports whether to keep it (then
// the caller calls add).
func (f *lockFindings) note(k lockKind) bool {
	f.counts[k]++
	return f.counts[k] <= maxLockExamples
}

func (f *lockFindings) add(k lockKind, a Anomaly) {
	a.Kind = k.String()
	f.examples[k] = append(f.examples[k], a)
}

// keepLongest keeps a split brain among the longest few, longest first.
func (f *lockFindings) keepLongest(dur int64, a func() Anomaly) {
	if len(f.longest) == maxLockExamples && dur <= f.longest[len(f.longest)-1].dur {
		return
	}
	ex := lockExample{dur: dur, a: a()}
	ex.a.Kind = lockSplitBrain.String()
	i := len(f.longest)
	for i > 0 && f.longest[i-1].dur < dur {
		i--
	}
	f.longest = append(f.longest, lockExample{})
	copy(f.longest[i+1:], f.longest[i:])
	f.longest[i] = ex
	if len(f.longest) > maxLockExamples {
		f.longest = f.longest[:maxLockExamples]
	}
}

func (f *lockFindings) total() int {
	n := 0
	for _, c := range f.counts {
		n += c
	}
	return n
}

// anomalies lists the examples, kind by kind.
func (f *lockFindings) anomalies() []Anomaly {
	var out []Anomaly
	for _, ex := range f.longest {
		out = append(out, ex.a)
	}
	for k := lockFencingViolation; k < lockKinds; k++ {
		out = append(out, f.examples[k]...)
	}
	return out
}
