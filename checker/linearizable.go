package checker

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultline/faultline/history"
)

// Linearizable checks a zk-register history for linearizability with
// porcupine. Each key is a znode, modelled as a versioned register that
// starts at value 0, version 0 (the workload's setup creates it so before any
// op on it); keys are checked independently and in parallel.
//
// What the model makes of each call:
//   - read: an OK read saw {"value":v,"version":n}; other reads constrain
//     nothing and are dropped.
//   - write {"value":v}: OK means it made version n = previous + 1
//     ({"value":v,"version":n}).
//   - cas {"expected_version":e,"value":v}: OK means the version was e and
//     it made e+1 (the completion says which); a fail with error
//     "bad-version" means the version was not e, and changed nothing.
//   - Any other fail certainly did not happen and is dropped. Info and
//     never-completed writes and cas ops may have taken effect at any time
//     after their invocation: they stay open to the end of the history with
//     an unknown outcome (see register_prune.go for how the checker keeps
//     that tractable; it relies on written values being unique per key).
//
// Nemesis ops are not checked; their fault windows annotate the HTML
// visualization (porcupine's) that the result carries as an artifact for
// each key that is not linearizable, linearizability-<key>.html.
//
// Result.Details is a *LinearizableDetails.
type Linearizable struct {
	// noPrune checks unknown ops the textbook way, open to the end of the
	// history with no restriction; the tests compare both.
	noPrune bool
}

// Name returns "linearizable".
func (Linearizable) Name() string { return "linearizable" }

// keyCheck is one key's history and what porcupine made of it.
type keyCheck struct {
	key   string
	calls []regCall // its client calls, in invocation order
	model int       // how many of them the model takes

	// Set when the key is checked (see runKeyChecks).
	rops     []registerOp // the calls the model takes, decoded
	n        int          // how many of them porcupine takes
	unpruned bool         // its written values are not unique: checked without pruning
	stats    PruneStats
	obs      []zxidObs // for a writes-only check
	noZxid   int
	ops      []porcupine.Operation // made of rops for the search, kept if the key is not linearizable
	result   porcupine.CheckResult
	info     porcupine.LinearizationInfo
	took     time.Duration
}

// Check checks ops; see Linearizable.
func (l Linearizable) Check(ctx context.Context, ops []history.Op, opts Options) Result {
	res, d, _ := registerCheck{name: l.Name(), noPrune: l.noPrune, artifact: "linearizability-"}.check(ctx, ops, opts)
	res.Details = d
	return res
}

// registerCheck is a linearizability check of zk-register histories with
// porcupine, of every op (Linearizable) or of writes alone
// (LinearizableWrites).
type registerCheck struct {
	name string
	// noPrune checks unknown ops the textbook way, open to the end of the
	// history with no restriction; the tests compare both.
	noPrune bool
	// writesOnly leaves out every read but the final reads.
	writesOnly bool
	// artifact is the visualizations' name prefix.
	artifact string
	// longWay reads every history as a malformed one is read (the tests
	// compare both).
	longWay bool
}

// registerOut is what a writes-only check found beyond its result.
type registerOut struct {
	left, final int          // ok reads left out, and final reads kept
	obs         []zxidObs    // the ok calls that recorded a zxid, in invocation order
	noZxid      int          // the ok calls that did not
	hist        []history.Op // the ops obs refer to
}

// check checks ops. The caller sets Details.
func (rc registerCheck) check(ctx context.Context, ops []history.Op, opts Options) (res Result, d *LinearizableDetails, out registerOut) {
	start := time.Now()
	res = Result{Checker: rc.name, Valid: Unknown}
	d = &LinearizableDetails{ByF: map[string]Counts{}}
	defer func() { res.DurationMS = time.Since(start).Milliseconds() }()
	// Every step but porcupine's search (pairing, decoding, readying a
	// key) looks at stopCtx every few thousand ops; the search has its
	// own timeout, what is left until the same deadline. Stopped before
	// the keys are checked, the check gives up; after, the keys not
	// decided in time are unknown.
	stopCtx := ctx
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = start.Add(opts.Timeout)
		var cancel context.CancelFunc
		stopCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	stopped := func() bool { return stopCtx.Err() != nil }
	giveUp := func() (Result, *LinearizableDetails, registerOut) {
		res.Counts, d.ByF = Counts{}, map[string]Counts{}
		if ctx.Err() != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("the check was cancelled (%v) before it finished: no verdict", context.Cause(ctx)))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("the check timed out after %v before it finished: no verdict; give it a longer timeout", opts.Timeout))
		}
		return res, d, out
	}
	var h registerHistory
	status := readMalformed
	if !rc.longWay {
		h, status = readRegisterOps(ops, stopped)
	}
	if status == readMalformed {
		// The long way, to say what is wrong as Pair and the decoding of
		// each call in turn say it.
		calls, err := history.PairContext(stopCtx, ops)
		if err != nil {
			if stopped() {
				return giveUp()
			}
			res.Error = fmt.Sprintf("malformed history: %v", err)
			return res, d, out
		}
		var end int64
		for _, op := range ops {
			end = max(end, op.Time)
		}
		var stop bool
		h, stop, err = readRegisterCalls(calls, end+1, stopped)
		switch {
		case stop:
			status = readStopped
		case err != nil:
			h.byKey(rc.writesOnly, &out) // the reads left out so far, as the details say
			res.Counts, d.ByF = h.counts, h.byF
			res.Error = err.Error()
			return res, d, out
		default:
			status = readDone
		}
	}
	if status == readStopped {
		return giveUp()
	}
	res.Counts, d.ByF = h.counts, h.byF
	end := h.end
	checks, all, modelOK := h.byKey(rc.writesOnly, &out)
	d.Keys = len(checks)

	cancelled, malformed := rc.runKeyChecks(ctx, &h, all, deadline, stopped)
	if malformed {
		if rc.longWay { // cannot be: the long way decoded every call
			res.Error = "malformed zk-register history: a call did not decode"
			return res, d, out
		}
		// A value did not decode: the long way says which, as it would
		// have from the start.
		rc.longWay = true
		if opts.Timeout > 0 {
			opts.Timeout = max(time.Until(deadline), time.Nanosecond)
		}
		res, d, out = rc.check(ctx, ops, opts)
		res.DurationMS = time.Since(start).Milliseconds()
		return res, d, out
	}
	for _, kc := range checks {
		if kc.unpruned {
			res.Notes = append(res.Notes, fmt.Sprintf("key %s: written values are not unique, so unknown ops were checked without pruning (slower); the workload should write unique values", kc.key))
		}
		d.InfoOps.add(kc.stats)
	}
	out.hist = h.hist
	for _, kc := range all {
		out.obs = append(out.obs, kc.obs...)
		out.noZxid += kc.noZxid
	}
	slices.SortFunc(out.obs, func(a, b zxidObs) int { return cmp.Compare(a.inv, b.inv) })

	var invalid, unknown []string
	var verdicts []Validity
	keyMS := make(map[string]int64, len(checks))
	for _, kc := range checks {
		keyMS[kc.key] = kc.took.Milliseconds()
		switch {
		case cancelled || kc.result == porcupine.Unknown:
			unknown = append(unknown, kc.key)
			verdicts = append(verdicts, Unknown)
		case kc.result == porcupine.Illegal:
			invalid = append(invalid, kc.key)
			verdicts = append(verdicts, Invalid)
		default:
			verdicts = append(verdicts, Valid)
		}
	}
	res.Valid = Merge(verdicts...)
	if res.Valid == Valid && (res.Counts.OK == 0 || (rc.writesOnly && modelOK == 0)) {
		// As Jepsen: a history where nothing succeeded tested nothing.
		res.Valid = Unknown
		if rc.writesOnly && res.Counts.OK > 0 {
			res.Notes = append(res.Notes, "no write, cas or final read completed ok, so no write was tested")
		} else {
			res.Notes = append(res.Notes, "no client op completed ok, so nothing was tested; check that the clients could reach the servers")
		}
	}
	d.InvalidKeys, d.UnknownKeys, d.KeyDurationMS = invalid, unknown, keyMS
	if cancelled {
		res.Notes = append(res.Notes, fmt.Sprintf("the check was cancelled (%v) before it finished: no verdict", context.Cause(ctx)))
	} else if len(unknown) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the check timed out after %v with %d key(s) undecided (%s); give it a longer timeout, or run tests with fewer ops per key",
			opts.Timeout, len(unknown), strings.Join(unknown, ", ")))
	}

	var windows []faultWindow
	for _, kc := range checks {
		if cancelled || kc.result != porcupine.Illegal {
			continue
		}
		if windows == nil {
			windows = faultWindows(h.nemesis, end)
		}
		sp := findStuckPoint(kc.ops, kc.info)
		res.Anomalies = append(res.Anomalies, nonlinearizableAnomaly(kc.key, kc.ops, sp))
		res.Artifacts = append(res.Artifacts, &visualization{prefix: rc.artifact, key: kc.key, info: kc.info, ops: kc.ops, stuck: sp, windows: windows})
	}
	if len(res.Anomalies) > 0 {
		res.AnomalyCounts = map[string]int{"nonlinearizable": len(res.Anomalies)}
	}
	return res, d, out
}

// LinearizableDetails are the linearizability checker's figures.
type LinearizableDetails struct {
	// Keys is the number of keys checked.
	Keys int `json:"keys"`
	// ByF counts client calls per f and outcome.
	ByF map[string]Counts `json:"by_f"`
	// InvalidKeys are the keys that are not linearizable, UnknownKeys
	// those the checker could not decide in time.
	InvalidKeys []string `json:"invalid_keys"`
	UnknownKeys []string `json:"unknown_keys"`
	// InfoOps says what the pruning did with unknown writes and cas ops.
	InfoOps PruneStats `json:"info_ops"`
	// KeyDurationMS is the time porcupine took per key.
	KeyDurationMS map[string]int64 `json:"key_duration_ms"`
}

// Summary says how many keys were checked.
func (d *LinearizableDetails) Summary() (string, []string) {
	return fmt.Sprintf("%d keys", d.Keys), nil
}

// runKeyChecks checks every key: it decodes its calls (decodeKey),
// readies them (prepare) and runs porcupine, on as many keys at once as
// there are CPUs, all before deadline (if not zero) and within ctx. A key
// whose check could not finish in time is Unknown. It reports whether ctx
// was done before the checks finished, in which case no verdict stands, and
// whether a call did not decode (malformed), in which case it stopped.
func (rc registerCheck) runKeyChecks(ctx context.Context, h *registerHistory, checks []*keyCheck, deadline time.Time, stopped func() bool) (cancelled, malformed bool) {
	var stop, bad atomic.Bool
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	model := registerModel(&stop)

	// Biggest keys first, so that one big key does not start last.
	order := make([]*keyCheck, len(checks))
	copy(order, checks)
	sort.SliceStable(order, func(i, j int) bool { return order[i].model > order[j].model })
	next := make(chan *keyCheck, len(order))
	for _, kc := range order {
		next <- kc
	}
	close(next)

	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		wg.Go(func() {
			var scratch pruneScratch
			for kc := range next {
				var limit time.Duration
				if !deadline.IsZero() {
					if limit = time.Until(deadline); limit <= 0 {
						kc.result = porcupine.Unknown
						continue
					}
				}
				if stop.Load() {
					kc.result = porcupine.Unknown
					continue
				}
				if !h.decodeKey(kc, rc.writesOnly, stopped) {
					kc.result, kc.rops = porcupine.Unknown, nil
					if !stopped() {
						bad.Store(true)
						stop.Store(true)
					}
					continue
				}
				if kc.model == 0 {
					continue // decoded for its zxids alone
				}
				prune := !rc.noPrune && scratch.uniqueValues(kc.rops)
				kc.unpruned = !rc.noPrune && !prune
				var ok bool
				if kc.n, ok = scratch.prepare(kc.rops, h.end, prune, &kc.stats, stopped); !ok {
					kc.result, kc.rops = porcupine.Unknown, nil
					continue
				}
				t := time.Now()
				kc.ops = operations(kc.rops, kc.n)
				kc.result = porcupine.CheckOperationsTimeout(model, kc.ops, limit)
				if kc.result == porcupine.Illegal && !stop.Load() {
					// What porcupine found on the way (its longest
					// partial linearizations) locates the anomaly and
					// draws the view; gathering it takes memory for every
					// op, so only for a key found illegal, searched again.
					// The search is deterministic: given as long as the
					// first took, it finds the same.
					if !deadline.IsZero() {
						limit = max(time.Until(deadline), time.Since(t)+time.Second)
					}
					_, kc.info = porcupine.CheckOperationsVerbose(model, kc.ops, limit)
				}
				if kc.result != porcupine.Illegal {
					kc.ops, kc.rops = nil, nil // nothing needs them now
				}
				kc.took = time.Since(t)
			}
		})
	}
	wg.Wait()
	return stop.Load() && !bad.Load(), bad.Load()
}

// visualization is porcupine's HTML view of a key that is not
// linearizable, annotated with the fault windows and the stuck point.
type visualization struct {
	prefix  string // e.g. "linearizability-"
	key     string
	info    porcupine.LinearizationInfo
	ops     []porcupine.Operation
	stuck   stuckPoint
	windows []faultWindow
}

// Name is <prefix><key>.html, e.g. linearizability-r1.html.
func (v *visualization) Name() string { return v.prefix + fileSafe(v.key) + ".html" }

// WriteTo writes the HTML.
func (v *visualization) WriteTo(w io.Writer) (n int64, err error) {
	defer func() {
		if r := recover(); r != nil { // porcupine panics on what it considers impossible
			err = fmt.Errorf("visualize key %s: porcupine: %v", v.key, r)
		}
	}()
	info := v.info
	info.AddAnnotations(faultAnnotations(v.windows))
	info.AddAnnotations(stuckAnnotation(v.ops, v.stuck))
	cw := &countingWriter{w: w}
	if err := porcupine.Visualize(registerModel(nil), info, cw); err != nil {
		return cw.n, fmt.Errorf("visualize key %s: %w", v.key, err)
	}
	return cw.n, nil
}

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileSafe maps a key (a znode path like /faultline/r1) to a file name part.
func fileSafe(key string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, strings.TrimLeft(key, "/"))
	if s == "" {
		return "_"
	}
	return s
}
