package checker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/faultline/faultline/history"
)

// Sequential checks a zk-register history against what ZooKeeper promises
// of every read, whatever the read mode: sequential consistency per
// session. ZooKeeper applies all writes, on every key, in one order, that of
// their zxids; each session (a client process: a retired process's successor
// opens a new session) sees its own ops take effect in its own order, and
// observes states of the ensemble that only move forward along that order,
// across keys and across reconnects. Real time between
// sessions is not part of it (a read may be stale); LinearizableWrites and
// Linearizable judge that.
//
// It needs the zxid every ok op records (docs/history.md): the znode's
// Mzxid, the zxid of the write that made the version read or written. A
// history without zxids (recorded before the workload recorded them) is
// Unknown, with a note.
//
// The checker reads the history once. It first gathers what the ok ops say
// about the writes: for each key, the state (value, zxid) at each data
// version, from the acknowledgements of writes and cas ops and from what
// reads returned; the initial state of a key is value 0 at version 0. It
// then follows each session in its order, keeping the newest zxid the
// session has observed (read or written). A read that returned version v of
// a key, at zxid z, observed a state at or after z and before the write that
// made the key's next version known: if that write's zxid is no later than
// one the session has already observed, the session went back in time.
//
// Info and incomplete writes may or may not have happened: they constrain
// nothing, unless a read returned their value, which reveals that they
// happened and at which version and zxid. A fail (bad-version included)
// certainly did not happen, so a read of its value is a phantom. Where no
// known write fills a version (an unknown write nobody read) the checker
// takes the next known version's zxid as the bound, which can only miss an
// anomaly, never invent one. Reads that did not complete ok constrain
// nothing. Bad-version cas ops (which ZooKeeper decides in the order of
// writes), versions that do not rise by one per write, and real time are
// left to LinearizableWrites. The final reads (findFinalReads) are fresh
// sessions like any other here.
//
// The anomalies, each of which makes the history invalid:
//   - read-went-back: a session read a state older than one it had already
//     observed: the version it returned had been replaced by a write whose
//     zxid is at or below one the session had seen (monotonic reads, across
//     keys and reconnects).
//   - missed-own-write: the same, where the replacing write is the session's
//     own on that key: a read did not see the session's acknowledged write
//     (read-your-writes).
//   - write-went-back: a session's write was given a zxid at or below one
//     the session had already observed: ZooKeeper applied it before a state
//     the session had seen.
//   - version-fork: two different states at one version of a key (two
//     values, or one value with two zxids), or one written value at two
//     versions or zxids; counted once per extra state.
//   - phantom-value: a read returned a value no write can have put there: no
//     write or cas on that key wrote it, the one that did certainly failed,
//     or it was invoked only after the read completed.
//   - zxid-order: the zxids do not order the writes: on one key, a later
//     version with a zxid not above an earlier one's, or one zxid for two
//     different writes.
//
// A read with a version-fork or phantom-value is not checked further. The
// verdict is Invalid if any anomaly was found, else Unknown when no client
// op completed ok, or the history has no zxids, or the check was stopped;
// else Valid. A malformed history is Unknown with Error set. Each kind lists
// at most 10 examples, each with its key, the op it shows at and the ops
// involved. It takes time linear in the history (the per-key sorts are
// counting sorts when versions are dense, as they are).
//
// Result.Details is a *SequentialDetails.
type Sequential struct{}

// Name returns "sequential".
func (Sequential) Name() string { return "sequential" }

// SequentialDetails are the sequential checker's figures.
type SequentialDetails struct {
	// Sessions counts the client processes, each a session of its own.
	Sessions int `json:"sessions"`
	// Keys counts the keys.
	Keys int `json:"keys"`
	// ByF counts client calls per f and outcome.
	ByF map[string]Counts `json:"by_f"`
	// AnomalyCounts counts the anomalies of each kind, zeros included.
	AnomalyCounts map[string]int `json:"anomaly_counts"`
	// Reads counts the ok reads, FinalReads the ok final reads among them.
	Reads      int `json:"reads"`
	FinalReads int `json:"final_reads"`
	// StaleReads counts the ok reads that returned a version older than
	// one an ok write or cas had made before the read was invoked: reads
	// that are not linearizable, which sequential consistency allows.
	// MaxStaleness is the most versions such a read was behind.
	StaleReads   int   `json:"stale_reads"`
	MaxStaleness int64 `json:"max_staleness"`
	// UnknownWritesRevealed counts the info or incomplete writes and cas
	// ops whose value some read returned: they happened.
	UnknownWritesRevealed int `json:"unknown_writes_revealed"`
}

// Summary says how many sessions were checked and how many reads were
// stale.
func (d *SequentialDetails) Summary() (string, []string) {
	head := fmt.Sprintf("%d sessions, %d stale reads", d.Sessions, d.StaleReads)
	var lines []string
	if d.StaleReads > 0 {
		lines = append(lines, fmt.Sprintf("stale reads (allowed; up to %d versions behind a write acknowledged before the read began): %d of %d ok reads",
			d.MaxStaleness, d.StaleReads, d.Reads))
	}
	return head, lines
}

// errSeqStopped says the check ran out of time or was cancelled.
var errSeqStopped = errors.New("stopped")

// Check checks ops; see Sequential.
func (s Sequential) Check(ctx context.Context, ops []history.Op, opts Options) (res Result) {
	start := time.Now()
	res = Result{Checker: s.Name(), Valid: Unknown}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	if len(ops) > math.MaxInt32 {
		res.Error = fmt.Sprintf("the history has %d ops; the sequential checker takes at most %d", len(ops), math.MaxInt32)
		return res
	}
	c := &seqCheck{ctx: ctx, ops: ops}
	if opts.Timeout > 0 {
		c.deadline = start.Add(opts.Timeout)
	}
	err := c.read()
	if err == nil && c.noZxid == 0 {
		err = c.judge()
	}
	switch {
	case errors.Is(err, errSeqStopped):
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
	if c.noZxid > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the history records no zxid with its ok ops (it predates them), and the sequential check needs them: no verdict; run the test again to check it (%d ok ops)", c.noZxid))
		return res
	}
	res.Anomalies = c.found.anomalies()
	res.AnomalyCounts = d.AnomalyCounts
	switch {
	case c.found.total() > 0:
		res.Valid = Invalid
	case c.counts.OK == 0:
		res.Notes = append(res.Notes, "no client op completed ok, so nothing was tested; check that the clients could reach the servers")
	default:
		res.Valid = Valid
	}
	return res
}

// details gathers the figures of SequentialDetails.
func (c *seqCheck) details() *SequentialDetails {
	d := &SequentialDetails{
		Sessions:              int(c.sessions),
		Keys:                  len(c.keys),
		ByF:                   map[string]Counts{},
		AnomalyCounts:         map[string]int{},
		Reads:                 c.reads,
		FinalReads:            c.finalReads,
		StaleReads:            c.staleReads,
		MaxStaleness:          c.maxStaleness,
		UnknownWritesRevealed: c.revealed,
	}
	for i, f := range registerFs {
		if n := c.perF[i]; n.Calls > 0 {
			d.ByF[f] = n
		}
	}
	for k := range seqKinds {
		d.AnomalyCounts[k.String()] = c.found.counts[k]
	}
	return d
}
