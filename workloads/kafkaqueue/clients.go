package kafkaqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/twmb/franz-go/pkg/kgo"
)

// commonOpts are the options of every client of the workload: the run's
// brokers, dialed from the harness's side of the run's network, and the
// harness's log.
func (w *Workload) commonOpts() []kgo.Opt {
	var seeds []string
	names := map[string]string{}
	for _, b := range w.c.Brokers() {
		seeds = append(seeds, b.ClientAddr())
		names[b.ClientAddr()], names[strconv.Itoa(b.ID())] = b.Name(), b.Name()
	}
	return []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.Dialer(w.c.Dial),
		kgo.WithLogger(kgoLogger{w.log, names}),
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.MetadataMaxAge(5 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.RequestTimeoutOverhead(2 * time.Second),
		kgo.ConnIdleTimeout(30 * time.Second),
	}
}

// producerOpts are a producer's: manual partitioning, the test's acks and
// idempotence, no lingering, and a delivery timeout a little shorter than
// the op timeout.
func (w *Workload) producerOpts() []kgo.Opt {
	o := w.opts
	opts := append(w.commonOpts(),
		kgo.DefaultProduceTopic(w.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(o.OpTimeout*4/5),
		kgo.ProduceRequestTimeout(o.OpTimeout/2),
		kgo.UnknownTopicRetries(-1),
	)
	if o.Acks == AcksLeader {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !o.Idempotent() {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts
}

// kgoLogger sends franz-go's warnings and errors to the harness's log,
// marked as a client library's ("client": "kafka") and naming the broker
// ("node") where franz-go says which: the run's log keeps each, the
// terminal counts them (see runner's terminal log).
type kgoLogger struct {
	log   *slog.Logger
	names map[string]string // broker id or address → node name
}

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	args := append([]any{"client", "kafka"}, keyvals...)
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, _ := keyvals[i].(string); k == "broker" || k == "addr" {
			if name, ok := l.names[fmt.Sprint(keyvals[i+1])]; ok {
				args = append(args, "node", name)
				break
			}
		}
	}
	l.log.Log(context.Background(), lvl, "kafka client: "+msg, args...)
}

// producer sends one record per op, to the op's partition. A process sends
// one record at a time, so every produce request its client makes during
// an op carries that op's record.
type producer struct {
	cl         *kgo.Client
	tries      *produceAccounting
	idempotent bool
	timeout    time.Duration
}

// Invoke sends op's value to op's partition and waits for the
// acknowledgement, at most the op timeout: past it the send is info (it may
// still be written) and the process is retired with its client.
func (p *producer) Invoke(ctx context.Context, op history.Op) history.Op {
	done := op
	var v sendValue
	part, err := parsePartition(op.Key)
	if err == nil {
		err = json.Unmarshal(op.Value, &v)
	}
	if err != nil {
		done.Type, done.Error = history.Fail, "bad op: "+err.Error()
		return done
	}
	rec := &kgo.Record{Partition: part, Value: []byte(v.Value)}
	written0, answered0 := p.tries.snapshot()
	type result struct {
		r   *kgo.Record
		err error
	}
	ch := make(chan result, 1)
	// ProduceSync outlives ctx on purpose: an idempotent producer does not
	// give up on a record it may have written. The op ends at ctx's
	// deadline; closing the client ends the send.
	go func() {
		res := p.cl.ProduceSync(context.WithoutCancel(ctx), rec)
		r, err := res.First()
		ch <- result{r, err}
	}()
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case res := <-ch:
		written, answered := p.tries.snapshot()
		allAnswered := written-written0 == answered-answered0
		done.Type, done.Error = classifySend(res.err, p.idempotent, allAnswered)
		if res.err == nil {
			off := res.r.Offset
			done.Value = mustJSON(sendValue{Value: v.Value, Offset: &off})
		}
	case <-timer.C:
		done.Type, done.Error = history.Info, "timeout"
	case <-ctx.Done():
		done.Type, done.Error = history.Info, "cancelled"
	}
	return done
}

// Close closes the client in the background: it may wait on a broker that
// cannot be reached.
func (p *producer) Close() { go p.cl.Close() }

// consumer polls for one process.
type consumer struct {
	cl      *kgo.Client
	mode    string
	wait    time.Duration
	log     *slog.Logger
	stopped bool
}

// Invoke polls once, for at most the consumer's wait, and records what came.
func (c *consumer) Invoke(ctx context.Context, op history.Op) history.Op {
	done := op
	recs, err := c.poll(ctx)
	var loss *kgo.ErrDataLoss
	switch {
	case errors.As(err, &loss):
		// franz-go found the log truncated below what it had read and
		// moved back: the same process would seem to read backwards.
		// What it read stands; it retires, and its successor reads on.
		c.log.Warn("consumer: data loss detected, the client reset its position", "topic", loss.Topic, "partition", loss.Partition, "from", loss.ConsumedTo, "to", loss.ResetTo)
		done.Type, done.Error = history.Info, "data-loss-reset"
		done.Value = encodePoll(c.mode, recs, -1)
	case err != nil:
		done.Type, done.Error = history.Info, errorName(err)
	default:
		done.Type = history.OK
		done.Value = encodePoll(c.mode, recs, -1)
	}
	return done
}

// poll returns the records of one fetch, grouped by partition. A poll that
// finds nothing before its wait ends is an empty read, not an error. When
// franz-go reports data loss (*kgo.ErrDataLoss), poll returns the records
// with that error.
func (c *consumer) poll(ctx context.Context) (map[int32][]record, error) {
	pctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	fetches := c.cl.PollRecords(pctx, 1000)
	if fetches.IsClientClosed() {
		return nil, kgo.ErrClientClosed
	}
	var loss error
	fetches.EachError(func(topic string, p int32, err error) {
		if _, ok := errors.AsType[*kgo.ErrDataLoss](err); ok && loss == nil {
			loss = err
		}
		if pctx.Err() == nil || (err != context.DeadlineExceeded && err != context.Canceled) {
			c.log.Debug("fetch error", "topic", topic, "partition", p, "err", err)
		}
	})
	recs := map[int32][]record{}
	fetches.EachRecord(func(r *kgo.Record) {
		recs[r.Partition] = append(recs[r.Partition], record{Offset: r.Offset, Value: string(r.Value)})
	})
	if loss != nil {
		return recs, loss
	}
	if ctx.Err() != nil && len(recs) == 0 {
		return nil, ctx.Err()
	}
	return recs, nil
}

// Close closes the client in the background (leaving a group may wait on
// an unreachable coordinator).
func (c *consumer) Close() {
	if !c.stopped {
		c.stopped = true
		go c.cl.Close()
	}
}
