package zkregister

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/faultline/faultline/history"
	"github.com/go-zookeeper/zk"
)

func TestCompleteWithError(t *testing.T) {
	inv := history.Op{Process: 3, Type: history.Invoke, F: "cas", Key: "r1", Value: []byte(`{"expected_version":2,"value":9}`)}
	cases := []struct {
		err  error
		typ  history.Type
		text string
	}{
		{zk.ErrBadVersion, history.Fail, "bad-version"},
		{fmt.Errorf("wrapped: %w", zk.ErrNoNode), history.Fail, "no-node"},
		{context.DeadlineExceeded, history.Info, "timeout"},
		{zk.ErrConnectionClosed, history.Info, zk.ErrConnectionClosed.Error()},
		{zk.ErrNoServer, history.Fail, "no-server"},
		{zk.ErrSessionExpired, history.Info, zk.ErrSessionExpired.Error()},
		{errors.New("anything else"), history.Info, "anything else"},
	}
	for _, c := range cases {
		got := completeWithError(inv, c.err)
		if got.Type != c.typ || got.Error != c.text || got.Value != nil {
			t.Errorf("%v → %s %q %s; want %s %q and no value", c.err, got.Type, got.Error, got.Value, c.typ, c.text)
		}
	}
}

func TestDataCodec(t *testing.T) {
	for _, v := range []int64{0, 1, -7, 1 << 40} {
		got, err := decodeData(encodeData(v))
		if err != nil || got != v {
			t.Errorf("%d → %d, %v", v, got, err)
		}
	}
	if _, err := decodeData([]byte("Hello, app1")); err == nil {
		t.Error("a znode that holds no number decoded")
	}
}
