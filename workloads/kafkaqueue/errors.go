package kafkaqueue

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// contentErrors are broker errors about the record itself: a broker that
// rejects it would have rejected every earlier try of it too, so it was
// never written.
var contentErrors = []error{
	kerr.InvalidRequest,
	kerr.InvalidRecord,
	kerr.CorruptMessage,
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.InvalidRequiredAcks,
}

// stateErrors are broker errors that reject a produce before anything is
// appended, but because of the broker's state at that moment: they say the
// try they answer wrote nothing, not that an earlier try did not.
var stateErrors = []error{
	kerr.NotEnoughReplicas, // checked before the append; ..._AFTER_APPEND is the ambiguous one
	kerr.NotLeaderForPartition,
	kerr.UnknownTopicOrPartition,
	kerr.TopicAuthorizationFailed,
	kerr.PolicyViolation,
}

// classifySend says how a send that returned err ends. allAnswered says
// whether every produce request the client wrote for it got a response.
//
// A send is fail only when the record was certainly not written:
//   - the broker rejected the record's content (contentErrors), on any try;
//   - or, with the idempotent producer (which, not being allowed to cancel
//     in-flight records, never gives up on one answered REQUEST_TIMED_OUT
//     or NOT_ENOUGH_REPLICAS_AFTER_APPEND), franz-go gave up on the record
//     after errors that precede the append (its delivery timeout or retry
//     limit, or a stateErrors error), and every try it made was answered.
//     A try with no answer may have been appended: then it is info, even if
//     a later try was rejected.
//
// Everything else is info: the harness's own timeout or cancellation, a
// lost connection, errors that may follow an append; and without
// idempotence any give-up, as franz-go may give up on a record it sent.
func classifySend(err error, idempotent, allAnswered bool) (history.Type, string) {
	if err == nil {
		return history.OK, ""
	}
	name := errorName(err)
	for _, e := range contentErrors {
		if errors.Is(err, e) {
			return history.Fail, name
		}
	}
	if !idempotent || !allAnswered {
		return history.Info, name
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, kgo.ErrClientClosed), errors.Is(err, kgo.ErrAborting):
		return history.Info, name
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		return history.Fail, name
	}
	for _, e := range stateErrors {
		if errors.Is(err, e) {
			return history.Fail, name
		}
	}
	return history.Info, name
}

// produceAccounting counts a client's produce requests written and
// produce responses read, through franz-go's broker hooks, so a send can
// tell whether every try of it was answered.
type produceAccounting struct {
	written, answered atomic.Int64
}

var (
	_ kgo.HookBrokerWrite = (*produceAccounting)(nil)
	_ kgo.HookBrokerRead  = (*produceAccounting)(nil)
)

// OnBrokerWrite counts produce requests written, even partly: a request
// whose write failed may still have reached the broker whole.
func (a *produceAccounting) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	if key == int16(kmsg.Produce) {
		a.written.Add(1)
	}
}

// OnBrokerRead counts produce responses read whole.
func (a *produceAccounting) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == int16(kmsg.Produce) && err == nil {
		a.answered.Add(1)
	}
}

// snapshot returns the counts so far.
func (a *produceAccounting) snapshot() (written, answered int64) {
	return a.written.Load(), a.answered.Load()
}

// errorName is a short name for an error in the history: the Kafka error
// code's name when there is one, else a few words.
func errorName(err error) string {
	var ke *kerr.Error
	switch {
	case errors.Is(err, kgo.ErrRecordTimeout):
		if errors.As(err, &ke) {
			return "record-timeout: " + ke.Message
		}
		return "record-timeout"
	case errors.Is(err, kgo.ErrRecordRetries):
		return "record-retries"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, kgo.ErrClientClosed):
		return "client-closed"
	case errors.As(err, &ke):
		return ke.Message
	}
	s := err.Error()
	if i := strings.IndexByte(s, ':'); i > 0 && i < 60 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
