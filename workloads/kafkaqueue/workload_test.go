package kafkaqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestClassifySend(t *testing.T) {
	cases := []struct {
		err         error
		idempotent  bool
		allAnswered bool
		want        history.Type
	}{
		{nil, true, true, history.OK},
		{nil, false, false, history.OK},
		// franz-go gives up on an idempotent record only after errors
		// before the append; with every try answered, nothing was written.
		{fmt.Errorf("%w, last err: %w", kgo.ErrRecordTimeout, kerr.NotEnoughReplicas), true, true, history.Fail},
		{kgo.ErrRecordRetries, true, true, history.Fail},
		{kerr.NotEnoughReplicas, true, true, history.Fail},
		// A try with no answer may have been appended before the rejected one.
		{fmt.Errorf("%w, last err: %w", kgo.ErrRecordTimeout, kerr.NotEnoughReplicas), true, false, history.Info},
		{kerr.NotEnoughReplicas, true, false, history.Info},
		// The record's own content: rejected on every try.
		{kerr.InvalidRequest, true, false, history.Fail},
		{kerr.MessageTooLarge, false, false, history.Fail},
		// Ambiguous: written or not.
		{kerr.NotEnoughReplicasAfterAppend, true, true, history.Info},
		{kerr.RequestTimedOut, true, true, history.Info},
		{context.DeadlineExceeded, true, true, history.Info},
		{kgo.ErrClientClosed, true, true, history.Info},
		{errors.New("read tcp: connection reset by peer"), true, true, history.Info},
		// Without idempotence franz-go may give up on a sent record.
		{kgo.ErrRecordTimeout, false, true, history.Info},
		{kerr.NotEnoughReplicas, false, true, history.Info},
	}
	for _, c := range cases {
		got, name := classifySend(c.err, c.idempotent, c.allAnswered)
		if got != c.want {
			t.Errorf("classifySend(%v, idempotent=%v, allAnswered=%v) = %s (%s), want %s", c.err, c.idempotent, c.allAnswered, got, name, c.want)
		}
		if c.err != nil && name == "" {
			t.Errorf("classifySend(%v) gave no error name", c.err)
		}
	}
}

func TestEncodePoll(t *testing.T) {
	recs := map[int32][]record{
		2: {{7, "1-2"}},
		0: {{1020, "4-9"}, {1021, "weird \"value\"\n\xff"}},
	}
	b := encodePoll(modeFinal, recs, 1022)
	var v struct {
		Mode    string                     `json:"mode"`
		Records map[string][][]interface{} `json:"records"`
		End     int64                      `json:"end_offset"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if v.Mode != modeFinal || v.End != 1022 || len(v.Records["0"]) != 2 || len(v.Records["2"]) != 1 {
		t.Errorf("decoded %+v from %s", v, b)
	}
	if got := v.Records["0"][1][1]; got != "weird \"value\"\n\ufffd" {
		t.Errorf("escaped value came back as %q", got)
	}
	if !strings.HasPrefix(string(b), `{"mode":"final","records":{"0":[[1020,"4-9"],`) {
		t.Errorf("partitions not in order: %s", b)
	}
	if b := encodePoll(modeAssign, nil, -1); string(b) != `{"mode":"assign","records":{}}` {
		t.Errorf("empty poll: %s", b)
	}
}

func TestOptions(t *testing.T) {
	three := workloads.ClusterShape{ZooKeepers: 3, Brokers: 3}
	o := DefaultOptions()
	if err := o.Validate(three); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if o.Partitions != 3 || o.ReplicationFactor != 3 || o.MinISR != 2 || o.Acks != AcksAll || !o.Idempotent() || o.Consumer != ConsumerAssign {
		t.Errorf("defaults: %+v", o)
	}
	leader := &Options{Acks: AcksLeader}
	leader.Defaults()
	if leader.Idempotent() || leader.Validate(three) != nil {
		t.Errorf("acks leader should default to idempotence off: %+v", leader)
	}
	// One broker: both the replication factor and the min ISR are out of
	// range, and one error says so.
	err := DefaultOptions().Validate(workloads.ClusterShape{ZooKeepers: 3, Brokers: 1})
	if err == nil || !strings.Contains(err.Error(), "--replication-factor 3") || !strings.Contains(err.Error(), "--min-isr 2") {
		t.Errorf("one broker: %v, want both --replication-factor and --min-isr named", err)
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{ReplicationFactor: 4}, "--replication-factor 4"},
		{Options{MinISR: 4}, "--min-isr 4"},
		{Options{Acks: "some"}, "--acks"},
		{Options{Acks: AcksLeader, Idempotence: "on"}, "--idempotence off"},
		{Options{Idempotence: "maybe"}, "--idempotence"},
		{Options{Consumer: "group"}, "--consumer"},
		{Options{OpTimeout: time.Millisecond}, "--op-timeout"},
		{Options{Partitions: -1}, "--partitions"},
	}
	for _, b := range bad {
		b.o.Defaults()
		err := b.o.Validate(three)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %v, want one naming %s", b.o, err, b.want)
		}
	}
	if err := DefaultOptions().Validate(workloads.ClusterShape{ZooKeepers: 3}); err == nil || !strings.Contains(err.Error(), "--kafka-nodes") {
		t.Errorf("no brokers: %v", err)
	}
}
