package kafkaqueue

import (
	"context"
	"errors"
	"strings"

	"github.com/faultline/faultline/history"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// definitelyNotWritten are broker errors that reject a produce before
// anything is appended.
var definitelyNotWritten = []error{
	kerr.NotEnoughReplicas, // checked before the append; ..._AFTER_APPEND is the ambiguous one
	kerr.InvalidRequest,
	kerr.InvalidRecord,
	kerr.CorruptMessage,
	kerr.MessageTooLarge,
	kerr.RecordListTooLarge,
	kerr.InvalidRequiredAcks,
	kerr.TopicAuthorizationFailed,
	kerr.UnknownTopicOrPartition,
	kerr.PolicyViolation,
}

// classifySend says how a send that returned err ends.
//
// An idempotent franz-go producer that is not allowed to cancel in-flight
// records only fails a record when it knows the record was not written:
// it never sent it, or every try was answered with an error that precedes
// the append (a request with no answer, or answered with REQUEST_TIMED_OUT
// or NOT_ENOUGH_REPLICAS_AFTER_APPEND, keeps it retrying). So with
// idempotence on, franz-go's own timeout and retry limit, and the broker
// errors above, are fail. The harness's cancellation (our op timeout,
// closing the client) is info. Without idempotence franz-go may give up
// on a record it already sent, so every error is info.
func classifySend(err error, idempotent bool) (history.Type, string) {
	if err == nil {
		return history.OK, ""
	}
	name := errorName(err)
	if !idempotent {
		return history.Info, name
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, kgo.ErrClientClosed), errors.Is(err, kgo.ErrAborting):
		return history.Info, name
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		return history.Fail, name
	}
	for _, e := range definitelyNotWritten {
		if errors.Is(err, e) {
			return history.Fail, name
		}
	}
	return history.Info, name
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
