package checker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// Queue checks a kafka-queue history (docs/history.md) the way Jepsen's
// Kafka checker does: what producers' sends were acknowledged, what
// consumers' polls read, and whether the two tell the story of a set of
// append-only logs, one per partition, that lose nothing acknowledged.
//
// Each send writes a unique value, so a value names the send that made it.
// Positions (partition, offset) come from ok sends' acknowledgements and
// from every record a poll read (records an info poll carries, as a final
// read that gave up does, count too). The anomalies, each of which makes the
// history invalid:
//   - lost-write: an ok send's value that no poll read, although some poll
//     read its partition at an offset above the acknowledged one, or a
//     complete final read (see below) read the whole partition.
//   - duplicate: a value at more than one (partition, offset), counting its
//     acknowledgement and every read; counted once per value.
//   - inconsistent-offsets: an offset of a partition with more than one
//     value across reads and acknowledgements; counted once per offset.
//   - unexpected: a value read that no send invoked (before the read), one
//     read from another partition than its send wrote to, or one whose send
//     failed (a fail means certainly not written); counted once per value.
//   - nonmonotonic-send: a producer process's ok sends to a partition whose
//     acknowledged offsets, in history order, do not rise; counted per pair
//     of consecutive sends.
//   - nonmonotonic-poll: a process polling in assign or final mode whose
//     offsets on a partition, across its polls and within each, go back or
//     repeat; counted per pair of consecutive records.
//   - poll-skip: such a process moving from offset o1 to o2 > o1+1 on a
//     partition while some offset between them is known to exist (read by
//     anyone or acknowledged), or starting a partition at an offset above
//     its start, the lowest offset known to exist (normally 0): an assign
//     or final reader reads each partition from its beginning. Counted per
//     pair, and per reader that starts late. A process retired by an info
//     poll (a data-loss-reset too) goes on as a new process with a fresh
//     client, which starts at the beginning again; a process that ever
//     polled in subscribe mode is not held to start there.
//   - truncated: a partition whose complete final read ended at offset E
//     (its end_offset) although offsets at or above E had been
//     acknowledged to a producer (ok send) or returned to a consumer before
//     that read ended: the log lost committed records after the fact (an
//     unclean leader election, say). Counted once per offset lost; each
//     example is one partition, naming the first few offsets, their values
//     and the ops that showed them, and the final read. An acknowledged
//     value no poll read is a lost-write as well.
//
// Subscribe-mode polls are not checked for order or skips: after a rebalance
// a group member may re-read or jump. An assign or final poll listing other
// partitions than the process's previous one starts the order checks afresh
// on the partitions it adds, and a subscribe poll on all of them.
//
// Info and incomplete sends are never lost; one whose value some poll read
// counts as recovered. Unseen sends (ok, never read; lost writes included)
// are informational.
//
// The verdict is Invalid if any anomaly was found. Otherwise it is Unknown
// when no send completed ok (nothing was tested), or when some partition in
// the history has no complete final read (an ok final poll with end_offset
// E whose process read the partition from its start, no offset known to
// exist below its first record, up to offset E-1; or E = 0): without one,
// a lost write cannot be told from one nobody read yet. Otherwise it is
// Valid. A malformed history (calls that do not pair up, values that are not
// the workload's) is Unknown with Error naming the op at fault; a check that
// ctx or Options.Timeout stops is Unknown with a note, within a fraction of
// a second whatever the history's shape (one poll of millions of records
// included).
//
// Memory grows with the distinct values and offsets the history shows (some
// 60 bytes per record of a poll that reads new ones), not with the size of
// a poll: records are read one at a time from the op's JSON. A check about
// to run out of memory (near GOMEMLIMIT, the address-space limit, the
// cgroup's limit or the machine's available memory; see memory.go) stops
// with an Error "out of memory: ..." saying which limit and how far it got,
// rather than crash.
//
// Result.Counts counts client calls and Result.AnomalyCounts the
// anomalies of each kind; each kind lists at most 10 examples, each with the
// partition as its Key, the op it shows at and the ops involved.
// Result.Details is a *QueueDetails.
type Queue struct{}

// Name returns "queue".
func (Queue) Name() string { return "queue" }

// Check checks ops; see Queue.
func (q Queue) Check(ctx context.Context, ops []history.Op, opts Options) (res Result) {
	start := time.Now()
	res = Result{Checker: q.Name(), Valid: Unknown}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	if len(ops) > math.MaxInt32 {
		res.Error = fmt.Sprintf("the history has %d ops; the queue checker takes at most %d", len(ops), math.MaxInt32)
		return res
	}
	c := &queueCheck{ctx: ctx, ops: ops, mem: newGuard()}
	if opts.Timeout > 0 {
		c.deadline = start.Add(opts.Timeout)
	}
	c.pv.stop = c.stopped
	err := c.read()
	if err == nil {
		err = c.findAfterRead()
	}
	var anomalies []Anomaly
	if err == nil {
		var ok bool
		if anomalies, ok = c.anomalies(); !ok {
			err = errQueueStopped
		}
	}
	switch {
	case c.memErr != nil:
		res.Error = c.memErr.Error()
		return res
	case errors.Is(err, errQueueStopped):
		res.Notes = append(res.Notes, c.stoppedNote(opts))
		return res
	case err != nil:
		res.Error = err.Error()
		return res
	}
	res.Counts = c.counts
	res.Anomalies = anomalies
	d := c.details()
	res.Details = d
	res.AnomalyCounts = d.AnomalyCounts
	unfinished := d.PartitionsWithoutFinalRead
	switch {
	case c.found.total() > 0:
		res.Valid = Invalid
	case c.okSends == 0:
		res.Notes = append(res.Notes, "no send completed ok, so nothing was tested; check that the producers could reach the brokers")
	case len(unfinished) > 0:
		res.Notes = append(res.Notes, fmt.Sprintf("no complete final read of partition(s) %s: without one, a lost write cannot be told from one nobody read yet (%d ok sends are unseen); let the final reads finish (a longer final-read timeout, or heal the cluster first)",
			joinPartitions(unfinished), c.found.unseen))
	default:
		res.Valid = Valid
	}
	return res
}

// stoppedNote says why the check stopped before it finished.
func (c *queueCheck) stoppedNote(opts Options) string {
	if c.ctx.Err() != nil {
		return fmt.Sprintf("the check was cancelled (%v) before it finished: no verdict", context.Cause(c.ctx))
	}
	return fmt.Sprintf("the check timed out after %v before it finished: no verdict; give it a longer timeout", opts.Timeout)
}

// QueueDetails are the queue checker's figures.
type QueueDetails struct {
	// ByF counts client calls per f (send, poll) and outcome.
	ByF map[string]Counts `json:"by_f"`
	// AnomalyCounts counts the anomalies of each kind, zeros included.
	AnomalyCounts map[string]int `json:"anomaly_counts"`
	// Lost counts lost writes (as AnomalyCounts["lost-write"]).
	Lost int `json:"lost"`
	// Unseen counts ok sends whose value no poll read, lost writes
	// included.
	Unseen int `json:"unseen"`
	// UnseenSeries has at most 200 points evenly spaced over the
	// history: the ok sends acknowledged by then and not yet read.
	UnseenSeries []UnseenPoint `json:"unseen_series"`
	// Recovered counts info or incomplete sends whose value some poll
	// read.
	Recovered int `json:"recovered"`
	// ReadValues counts the distinct values polls read, RecordsRead the
	// records they read in all.
	ReadValues  int `json:"read_values"`
	RecordsRead int `json:"records_read"`
	// Partitions lists every partition in the history, in order.
	Partitions []int32 `json:"partitions"`
	// MaxReadOffset is, per partition, the highest offset a poll read.
	MaxReadOffset map[string]int64 `json:"max_read_offset"`
	// PartitionsWithoutFinalRead lists the partitions with no complete
	// final read.
	PartitionsWithoutFinalRead []int32 `json:"partitions_without_final_read"`
	// Truncated is, per partition, how many offsets its log lost after
	// they were acknowledged or read (see the truncated anomaly).
	Truncated map[string]int `json:"truncated"`
}

// Summary says how many acknowledged sends were never read and how many
// info sends were.
func (d *QueueDetails) Summary() (string, []string) {
	return "", []string{fmt.Sprintf("acknowledged sends never read: %d; info sends read after all (recovered): %d", d.Unseen, d.Recovered)}
}

// details gathers the figures of QueueDetails.
func (c *queueCheck) details() *QueueDetails {
	d := &QueueDetails{ByF: map[string]Counts{}, AnomalyCounts: map[string]int{}}
	for i, f := range []string{"send", "poll"} {
		n := c.perF[i]
		d.ByF[f] = Counts{Calls: n[0] + n[1] + n[2] + n[3], OK: n[0], Fail: n[1], Info: n[2], Incomplete: n[3]}
	}
	for k := range queueKinds {
		d.AnomalyCounts[k.String()] = c.found.counts[k]
	}
	d.Lost = c.found.counts[kindLostWrite]
	d.Unseen = c.found.unseen
	d.UnseenSeries = c.unseenSeries()
	d.Recovered = c.found.recovered
	d.ReadValues = c.readValues
	d.RecordsRead = c.recordsRead
	d.Partitions = []int32{}
	d.PartitionsWithoutFinalRead = []int32{}
	d.MaxReadOffset = map[string]int64{}
	d.Truncated = map[string]int{}
	maps.Copy(d.Truncated, c.truncatedBy)
	for _, p := range c.parts.sorted() {
		d.Partitions = append(d.Partitions, p.id)
		if !p.complete {
			d.PartitionsWithoutFinalRead = append(d.PartitionsWithoutFinalRead, p.id)
		}
		if p.maxRead >= 0 {
			d.MaxReadOffset[formatPartition(p.id)] = p.maxRead
		}
	}
	return d
}

// joinPartitions lists partitions for a note, eliding a long list.
func joinPartitions(ps []int32) string {
	const most = 20
	var b strings.Builder
	for i, p := range ps {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(ps)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatPartition(p))
	}
	return b.String()
}
