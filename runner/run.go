package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/cluster"
	"github.com/faultline/faultline/cluster/backends"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/results"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/registry"
)

// Outcome is what a test run produced.
type Outcome struct {
	// Dir is the run's directory in the store ("" when the run failed
	// before it made one, or removed it because nothing ran).
	Dir string
	// Report is the verdict and everything behind it (zero when the run
	// failed before checking, or recorded no history).
	Report results.Report
	// Ops counts completed client ops during the time limit, and
	// OpsPerSecond their rate, as the workers counted them (also when the
	// history is discarded).
	Ops          int64
	OpsPerSecond float64
	// OKByF counts the ok client ops during the time limit per f, e.g.
	// the acknowledged sends of kafka-queue.
	OKByF map[string]int64
}

// Run runs one test. An error means the harness could not do its job; the
// run's directory still holds what was recorded up to then. A failure
// before anything ran (a bad option, no root, no Java) leaves no run
// directory behind and store/latest where it was.
func Run(ctx context.Context, spec Spec) (out Outcome, err error) {
	spec = spec.Defaults()
	if err := spec.Validate(); err != nil {
		return out, err
	}
	def, err := registry.Lookup(spec.Workload)
	if err != nil {
		return out, err
	}
	backend, err := backends.Get(spec.Cluster.Backend)
	if err != nil {
		return out, err
	}
	faults := spec.faults()
	// The schedule comes first: one that cannot hold the faults asked for
	// is an error before anything is made.
	steps := spec.Schedule
	if len(steps) == 0 {
		if steps, err = nemesis.Plan(spec.Nemesis, nemesis.PlanInfos(spec.Cluster), spec.Seed, spec.TimeLimit, faults); err != nil {
			return out, err
		}
	}
	if err := backend.Preflight(ctx, spec.Cluster); err != nil {
		return out, err
	}

	start := time.Now()
	dir, err := results.CreateRun(spec.Store, spec.Name, start)
	if err != nil {
		return out, err
	}
	keep := false // set once something ran that is worth looking at
	defer func() {
		if !keep {
			_ = results.RemoveRun(dir)
		}
	}()
	logFile, err := os.Create(filepath.Join(dir, results.LogFile))
	if err != nil {
		return out, fmt.Errorf("create %s: %w", results.LogFile, err)
	}
	defer logFile.Close()
	term := newTerminalLog(spec.Logger.Handler()) // client libraries: a line per problem per fault window
	defer term.flush()
	log := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}),
		term,
	)).With("test", spec.Name)
	rec := Record{Spec: spec, Start: start, Dir: dir, Schedule: steps}
	if err := rec.write(); err != nil {
		return out, err
	}
	log.Debug("test starting", "dir", dir, "seed", spec.Seed, "workload", spec.Workload, "time_limit", spec.TimeLimit)

	copts := spec.Cluster
	copts.Dir, copts.KeepDir, copts.Logger = dir, true, log
	c, err := backend.Up(ctx, copts)
	if err != nil {
		// Servers that would not start leave logs worth reading.
		if _, ok := errors.AsType[*cluster.NodeError](err); ok && ctx.Err() == nil {
			keep = true
			return out, err
		}
		if ctx.Err() != nil {
			return out, errors.New("interrupted while bringing the cluster up; what was made is removed")
		}
		return out, err
	}
	keep = true
	out.Dir = dir
	if err := results.MarkLatest(dir); err != nil {
		log.Warn("could not point store/latest at the run", "err", err)
	}
	rec.Versions, rec.ClusterRun = c.Versions(), c.ID()
	term.learnNodes(c.Nodes())
	if err := rec.write(); err != nil {
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
		return c.Close(tctx)
	}
	defer func() {
		if terr := teardown(); terr != nil && err == nil {
			err = fmt.Errorf("tear the cluster down: %w", terr)
		}
	}()

	w, err := def.New(workloads.Env{Cluster: c, Seed: spec.Seed, Concurrency: spec.Concurrency, Log: log}, spec.WorkloadOptions)
	if err != nil {
		return out, err
	}
	defer w.Close()
	if err := w.Setup(ctx); err != nil {
		return out, err
	}

	// Time zero of the history, the fault schedule and the progress line:
	// the workload's start.
	began := time.Now()
	rec.WorkloadStart = began
	if err := rec.write(); err != nil {
		log.Warn("could not record the workload's start", "err", err)
	}
	var hist recorder = discard{}
	var histFile *history.Writer
	if !spec.DiscardHistory {
		if histFile, err = history.Create(filepath.Join(dir, results.HistoryFile), history.ClockSince(began)); err != nil {
			return out, err
		}
		hist = histFile
		defer func() {
			if histFile != nil {
				_ = histFile.Close()
			}
		}()
	}
	env := &nemesis.Env{Cluster: c, Options: spec.Nemesis, Topic: w.Topic(), Seed: spec.Seed, Log: log, WorkloadRoles: def.Roles}
	if wc, ok := w.(nemesis.WorkloadConditions); ok {
		env.Workload = wc // a scripted schedule may ask it (lock-holder)
	}
	nem := nemesis.New(env, faults, hist, steps)

	obs := startObserver(ctx, spec, c, w.Topic(), hist, log)
	defer obs.stop()

	in := newInterpreter(w, hist, spec.Concurrency, spec.Rate)
	in.began = began
	runCtx, stopRun := context.WithTimeout(ctx, spec.TimeLimit)
	defer stopRun()
	nemesisDone := make(chan struct{})
	go func() {
		defer close(nemesisDone)
		nem.Run(runCtx, began)
	}()
	prog := startProgress(spec.Progress, in, spec.TimeLimit)
	defer prog.stop()
	runErr := in.run(runCtx)
	stopRun()
	<-nemesisDone
	out.Ops, out.OpsPerSecond = in.completed()
	out.OKByF = in.okCounts()

	// Heal before anything else, even when the run failed or was interrupted.
	healCtx, cancelHeal := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelHeal()
	if len(steps) > 0 {
		prog.phase("healing")
		if err := nem.HealAll(healCtx); err != nil {
			log.Error("healing failed", "err", err)
		}
	}
	log.Info("workload done", "ops", out.Ops, "ops_per_second", out.OpsPerSecond)
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
	prog.phase("waiting for the cluster")
	healthyCtx, cancelHealthy := context.WithTimeout(finalCtx, 2*time.Minute)
	herr := c.WaitHealthy(healthyCtx)
	cancelHealthy()
	if herr != nil {
		log.Error("the cluster is not healthy after healing; trying the final reads anyway", "err", herr)
		rec.EndNotes = append(rec.EndNotes, fmt.Sprintf("the cluster was not healthy within 2m of healing (%v); see faultline.log and the nodes' logs", herr))
	}
	if ctx.Err() == nil && len(steps) > 0 {
		prog.phase("quiet period")
		log.Info("quiet period before the final reads", "for", spec.QuietPeriod)
		select {
		case <-finalCtx.Done():
		case <-time.After(spec.QuietPeriod):
		}
	}
	obs.stop() // it has seen the heal and the cluster settle
	prog.phase("final reads")
	if err := w.FinalReads(finalCtx, in); err != nil {
		log.Error("final reads failed", "err", err)
		rec.EndNotes = append(rec.EndNotes, fmt.Sprintf("the final reads did not finish: %v", err))
	}
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("interrupted during the final reads; the history so far is in %s: check it with `faultline check %s`", dir, dir)
	}
	if b, err := json.Marshal(w.Details()); err == nil {
		rec.WorkloadDetails = b
	}
	if err := rec.write(); err != nil {
		return out, err
	}
	w.Close()
	if err := histFile.Close(); err != nil {
		return out, err
	}
	histFile = nil
	prog.phase("tearing down")
	if err := teardown(); err != nil {
		log.Warn("teardown failed", "err", err)
	}

	prog.phase("checking")
	log.Info("checking")
	rep, err := CheckRun(ctx, rec, filepath.Join(dir, results.HistoryFile), checker.Options{Timeout: spec.CheckTimeout})
	if err != nil {
		return out, err
	}
	if err := results.WriteFiles(dir, &rep); err != nil {
		return out, err
	}
	prog.stop()
	out.Report = rep
	log.Info("test done", "valid", rep.Valid.String())
	return out, nil
}

// CheckRun reads a stored history and judges it as its record says (see
// Judge); a crashed run's half-written last line is noted and left out.
func CheckRun(ctx context.Context, rec Record, historyPath string, opts checker.Options) (results.Report, error) {
	ops, note, err := ReadHistory(historyPath, history.ReadOptions{})
	if err != nil {
		return results.Report{}, err
	}
	rep, err := Judge(ctx, rec, ops, opts)
	if err != nil {
		return rep, err
	}
	if note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	return rep, nil
}
