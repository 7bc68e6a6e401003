package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/kafkaqueue"
	"github.com/faultline/faultline/workloads/zkregister"
)

// Outcome is what a test run produced.
type Outcome struct {
	// Dir is the run's directory in the store.
	Dir string
	// Result is the checkers' verdict (unset when the run failed before checking).
	Result checker.Result
	// Ops counts completed client ops during the time limit, and
	// OpsPerSecond their rate.
	Ops          int64
	OpsPerSecond float64
	// OKByF counts the ok client ops during the time limit per f, e.g.
	// the acknowledged sends of kafka-queue.
	OKByF map[string]int64
}

// testRecord is the run's test.json: the spec and what the run found out.
type testRecord struct {
	Spec
	Start    time.Time        `json:"start"`
	Dir      string           `json:"dir"`
	Versions cluster.Versions `json:"versions"`
	Cluster  string           `json:"cluster_run,omitempty"`
	Schedule []nemesis.Step   `json:"nemesis_schedule,omitempty"`
}

// Run runs one test. An error means the harness could not do its job; the
// run's directory still holds what was recorded up to then.
func Run(ctx context.Context, spec Spec) (out Outcome, err error) {
	spec = spec.Defaults()
	if err := spec.Validate(); err != nil {
		return out, err
	}
	start := time.Now()
	dir, err := results.CreateRun(spec.Store, spec.Name, start)
	if err != nil {
		return out, err
	}
	out.Dir = dir
	logFile, err := os.Create(filepath.Join(dir, results.LogFile))
	if err != nil {
		return out, fmt.Errorf("create %s: %w", results.LogFile, err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}),
		spec.Logger.Handler(),
	)).With("test", spec.Name)
	rec := testRecord{Spec: spec, Start: start, Dir: dir}
	if err := results.WriteJSON(filepath.Join(dir, results.TestFile), rec); err != nil {
		return out, err
	}
	log.Info("test starting", "dir", dir, "seed", spec.Seed, "workload", spec.Workload, "time_limit", spec.TimeLimit)

	var hist recorder = discard{}
	var histFile *history.Writer
	if !spec.DiscardHistory {
		if histFile, err = history.Create(filepath.Join(dir, results.HistoryFile), history.ClockSince(start)); err != nil {
			return out, err
		}
		hist = histFile
		defer func() {
			if histFile != nil {
				_ = histFile.Close()
			}
		}()
	}

	copts := spec.Cluster
	copts.Dir, copts.KeepDir, copts.Logger = dir, true, log
	c, err := cluster.NewLocal(ctx, copts)
	if err != nil {
		return out, err
	}
	rec.Versions, rec.Cluster = c.Versions(), c.ID()
	if err := results.WriteJSON(filepath.Join(dir, results.TestFile), rec); err != nil {
		log.Warn("could not record the server versions", "err", err)
	}
	tornDown := false
	teardown := func() error {
		if tornDown {
			return nil
		}
		tornDown = true
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err := c.Close(tctx)
		if !spec.KeepData {
			for _, n := range c.Nodes() {
				_ = os.RemoveAll(n.DataDir())
			}
		}
		return err
	}
	defer func() {
		if terr := teardown(); terr != nil && err == nil {
			err = fmt.Errorf("tear the cluster down: %w", terr)
		}
	}()

	w, err := newWorkload(c, spec, log)
	if err != nil {
		return out, err
	}
	defer w.Close()
	if err := w.Setup(ctx); err != nil {
		return out, err
	}

	steps, err := nemesis.Plan(spec.Nemesis, nemesis.Infos(c), spec.Seed, spec.TimeLimit)
	if err != nil {
		return out, err
	}
	rec.Schedule = steps
	if err := results.WriteJSON(filepath.Join(dir, results.TestFile), rec); err != nil {
		log.Warn("could not record the nemesis schedule", "err", err)
	}
	nem := nemesis.New(c, hist, steps, spec.Nemesis.Packet, log)
	nem.SetSeed(spec.Seed)
	if t, ok := w.(interface{ Topic() string }); ok {
		nem.SetKafkaTopic(t.Topic())
	}

	in := newInterpreter(w, hist, spec.Concurrency, spec.Rate)
	runCtx, stopRun := context.WithTimeout(ctx, spec.TimeLimit)
	defer stopRun()
	began := time.Now()
	in.began = began
	nemesisDone := make(chan struct{})
	go func() {
		defer close(nemesisDone)
		nem.Run(runCtx, began)
	}()
	stopProgress := reportProgress(runCtx, spec.Progress, in, spec.TimeLimit)
	runErr := in.run(runCtx)
	stopRun()
	<-nemesisDone
	// Heal before anything else, even when the run failed or was interrupted.
	healCtx, cancelHeal := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelHeal()
	if len(steps) > 0 {
		if err := nem.HealAll(healCtx); err != nil {
			log.Error("healing failed", "err", err)
		}
	}
	faults := nem.Windows()
	p := in.progress("done", spec.TimeLimit)
	stopProgress(p)
	out.Ops, out.OpsPerSecond = p.OK+p.Fail+p.Info, p.OpsPerSecond()
	out.OKByF = in.okCounts()
	log.Info("workload done", "ops", out.Ops, "ops_per_second", out.OpsPerSecond, "ok", p.OK, "fail", p.Fail, "info", p.Info)
	if runErr != nil {
		return out, runErr
	}
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("interrupted; the history so far is in %s: check it with `faultline check %s`", dir, dir)
	}
	if spec.DiscardHistory {
		return out, nil
	}

	finalCtx, cancelFinal := context.WithTimeout(ctx, 6*time.Minute)
	defer cancelFinal()
	// A cluster that does not come back, or final reads that fail, still
	// leave a history worth checking: check it, say why in the notes, and
	// never call it valid.
	var incomplete []string
	healthyCtx, cancelHealthy := context.WithTimeout(finalCtx, 2*time.Minute)
	herr := c.WaitHealthy(healthyCtx)
	cancelHealthy()
	if herr != nil {
		log.Error("the cluster is not healthy after healing; trying the final reads anyway", "err", herr)
		incomplete = append(incomplete, fmt.Sprintf("the cluster was not healthy within 2m of healing (%v); see faultline.log and the nodes' logs", herr))
	}
	if ctx.Err() == nil && len(steps) > 0 {
		log.Info("quiet period before the final reads", "for", spec.QuietPeriod)
		select {
		case <-finalCtx.Done():
		case <-time.After(spec.QuietPeriod):
		}
	}
	if err := w.FinalReads(finalCtx, in); err != nil {
		log.Error("final reads failed", "err", err)
		incomplete = append(incomplete, fmt.Sprintf("the final reads did not finish: %v", err))
	}
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("interrupted during the final reads; the history so far is in %s: check it with `faultline check %s`", dir, dir)
	}
	details := w.Details()
	if len(faults) > 0 {
		details["faults"] = faults
	}
	w.Close()
	if err := histFile.Close(); err != nil {
		return out, err
	}
	histFile = nil
	if err := teardown(); err != nil {
		log.Warn("teardown failed", "err", err)
	}

	log.Info("checking")
	res, err := Check(ctx, filepath.Join(dir, results.HistoryFile), spec.Workload, details, checker.Options{OutDir: dir, Timeout: spec.CheckTimeout})
	if err != nil {
		return out, err
	}
	if len(incomplete) > 0 {
		res.Notes = append(res.Notes, incomplete...)
		if res.Valid == checker.Valid {
			res.Valid = checker.Unknown
			res.Notes = append(res.Notes, "valid as far as recorded, but unknown: the end of the test did not go as planned")
		}
	}
	out.Result = res
	if err := results.WriteJSON(filepath.Join(dir, results.ResultsFile), res); err != nil {
		return out, err
	}
	log.Info("test done", "valid", res.Valid.String())
	return out, nil
}

func newWorkload(c cluster.Cluster, spec Spec, log *slog.Logger) (workloads.Workload, error) {
	switch spec.Workload {
	case WorkloadZKRegister:
		return zkregister.New(c, spec.ZKRegister, spec.Seed, log)
	case WorkloadKafkaQueue:
		return kafkaqueue.New(c, spec.KafkaQueue, spec.Seed, spec.Concurrency, log)
	}
	return nil, fmt.Errorf("no workload %q", spec.Workload)
}

// Check runs a workload's checkers on a stored history. details (the
// workload's, e.g. its read mode) are added to the result.
func Check(ctx context.Context, historyPath, workload string, details map[string]any, opts checker.Options) (checker.Result, error) {
	ops, err := history.ReadFile(historyPath)
	var note string
	if errors.Is(err, history.ErrTruncatedTail) {
		// A crashed run's partial last line: check what is whole.
		note, err = fmt.Sprintf("%v: checked the %d whole ops", err, len(ops)), nil
	}
	if err != nil {
		return checker.Result{}, err
	}
	var ch checker.Checker
	switch workload {
	case WorkloadZKRegister:
		ch = checker.Linearizable{}
	case WorkloadKafkaQueue:
		ch = checker.Queue{}
	default:
		return checker.Result{}, fmt.Errorf("no checker for workload %q: choose %s or %s", workload, WorkloadZKRegister, WorkloadKafkaQueue)
	}
	res := checker.All(ch).Check(ctx, ops, opts)
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	if res.Details == nil {
		res.Details = map[string]any{}
	}
	res.Details["workload"] = workload
	for k, v := range details {
		res.Details[k] = v
	}
	return res, nil
}

// reportProgress calls sink about once a second until stop is called,
// which reports the last state.
func reportProgress(ctx context.Context, sink ProgressSink, in *interpreter, limit time.Duration) func(Progress) {
	if sink == nil {
		return func(Progress) {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sink(in.progress("run", limit))
			}
		}
	}()
	return func(last Progress) {
		close(done)
		<-finished
		sink(last)
	}
}
