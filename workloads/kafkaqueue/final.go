package kafkaqueue

import (
	"context"
	"maps"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// finalStall is how long a final read may go without reading anything new
// before it gives up.
const finalStall = 30 * time.Second

// errFinalIncomplete is the error of a final read that gave up.
const errFinalIncomplete = "final-read-incomplete"

// FinalReads waits until every replica is back in sync and the end offsets
// have settled, then reads each partition from its beginning to that end,
// as one fresh process per partition. A final read that cannot finish is
// recorded as info "final-read-incomplete", which makes the checker's
// verdict unknown rather than valid; FinalReads itself fails only when it
// cannot record.
func (w *Workload) FinalReads(ctx context.Context, rec workloads.Recorder) error {
	st, settled := w.settle(ctx)
	if !settled {
		w.log.Warn("final reads: the topic did not settle; reading what there is, and the verdict cannot be valid", "topic", w.topic, "why", st.why)
	}
	starts := map[int32]int64{}
	if so, err := w.adm.ListStartOffsets(ctx, w.topic); err == nil {
		so.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				starts[o.Partition] = o.Offset
			}
		})
	}
	for _, part := range w.partitions() {
		end, ok := st.ends[part]
		if !ok {
			end = -1 // unknown: read until nothing new comes, then give up
		}
		if err := w.finalRead(ctx, rec, part, starts[part], end, settled && ok); err != nil {
			return err
		}
	}
	return nil
}

// settle waits up to FinalReadTimeout until every partition has a leader
// and all replicas in sync, and two looks a second apart see the same end
// offsets. It returns the last state seen and whether it settled.
func (w *Workload) settle(ctx context.Context) (topicState, bool) {
	sctx, cancel := context.WithTimeout(ctx, w.opts.FinalReadTimeout)
	defer cancel()
	var prev, last topicState
	for {
		st, err := w.topicState(sctx)
		if err != nil {
			st.why = err
		}
		if len(st.ends) > 0 || last.ends == nil {
			last = st
		} else {
			last.why = st.why
		}
		if st.inSync && prev.inSync && maps.Equal(st.ends, prev.ends) {
			return st, true
		}
		prev = st
		if !sleepCtx(sctx, time.Second) {
			if last.ends == nil || len(last.ends) < w.opts.Partitions {
				// Ask for the end offsets alone, with the caller's time.
				if eo, err := w.adm.ListEndOffsets(ctx, w.topic); err == nil {
					last.ends = map[int32]int64{}
					eo.Each(func(o kadm.ListedOffset) {
						if o.Err == nil {
							last.ends[o.Partition] = o.Offset
						}
					})
				}
			}
			return last, false
		}
	}
}

// finalRead reads one partition from start to end (exclusive) as one
// process, in as many polls as it takes.
func (w *Workload) finalRead(ctx context.Context, rec workloads.Recorder, part int32, start, end int64, settled bool) error {
	opts := append(w.commonOpts(),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.topic: {part: kgo.NewOffset().AtStart()}}),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	r := &finalReader{
		consumer:     consumer{cl: cl, mode: modeFinal, wait: 2 * time.Second, log: w.log},
		next:         start,
		end:          end,
		settled:      settled,
		lastProgress: time.Now(),
	}
	defer r.Close()
	p := rec.NewProcess()
	inv := history.Op{Type: history.Invoke, F: "poll", Value: mustJSON(pollRequest{Mode: modeFinal, Partitions: []int32{part}})}
	for !r.done {
		if _, err := rec.Record(ctx, p, r, inv); err != nil {
			return err
		}
	}
	w.log.Info("final read", "partition", part, "end_offset", end, "read_to", r.next, "complete", r.complete)
	return nil
}

// finalReader is the client of one partition's final read.
type finalReader struct {
	consumer
	next         int64 // the offset after the highest read
	end          int64 // the settled end offset; -1 when unknown
	settled      bool
	lastProgress time.Time
	done         bool // the read is over (complete or given up)
	complete     bool
}

// Invoke polls once. The poll that reaches the end is ok with end_offset;
// one that gives up is info final-read-incomplete.
func (r *finalReader) Invoke(ctx context.Context, op history.Op) history.Op {
	done := op
	var recs map[int32][]record
	if r.end < 0 || r.next < r.end {
		var err error
		if recs, err = r.poll(ctx); err != nil {
			recs = nil
		}
		for _, rs := range recs {
			for _, x := range rs {
				if x.Offset+1 > r.next {
					r.next = x.Offset + 1
					r.lastProgress = time.Now()
				}
			}
		}
	}
	switch {
	case r.end >= 0 && r.next >= r.end && r.settled:
		r.done, r.complete = true, true
		done.Type, done.Value = history.OK, encodePoll(modeFinal, recs, r.end)
	case (r.end >= 0 && r.next >= r.end) || time.Since(r.lastProgress) > finalStall || ctx.Err() != nil:
		r.done = true
		done.Type, done.Error = history.Info, errFinalIncomplete
		done.Value = encodePoll(modeFinal, recs, -1)
	default:
		done.Type, done.Value = history.OK, encodePoll(modeFinal, recs, -1)
	}
	return done
}
