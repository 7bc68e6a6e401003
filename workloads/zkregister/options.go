package zkregister

import (
	"fmt"
	"time"
)

// ReadMode says how reads are done.
type ReadMode string

// The read modes.
const (
	// ReadSync calls sync, then get: ZooKeeper's documented way to read
	// the latest value.
	ReadSync ReadMode = "sync"
	// ReadLocal is a plain get from whichever server the client is on,
	// which ZooKeeper documents may be stale.
	ReadLocal ReadMode = "local"
	// ReadNone does no reads but the final ones.
	ReadNone ReadMode = "none"
)

// Options shape the workload.
type Options struct {
	// Keys is how many keys are in use at once (default 5).
	Keys int `json:"keys"`
	// OpsPerKey retires a key after that many ops and uses a fresh one
	// (default 200), bounding each key's checking cost.
	OpsPerKey int `json:"ops_per_key"`
	// Reads is the read mode (default sync).
	Reads ReadMode `json:"reads"`
	// OpTimeout bounds each op; an op that has not returned by then is
	// info (default 5s).
	OpTimeout time.Duration `json:"op_timeout"`
	// SessionTimeout is each client's ZooKeeper session timeout (default 10s).
	SessionTimeout time.Duration `json:"session_timeout"`
}

// Defaults fills in unset fields.
func (o Options) Defaults() Options {
	if o.Keys == 0 {
		o.Keys = 5
	}
	if o.OpsPerKey == 0 {
		o.OpsPerKey = 200
	}
	if o.Reads == "" {
		o.Reads = ReadSync
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = 5 * time.Second
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 10 * time.Second
	}
	return o
}

// Validate checks options after Defaults.
func (o Options) Validate() error {
	if o.Keys < 1 || o.Keys > 10000 {
		return fmt.Errorf("--keys %d is out of range: choose 1 to 10000", o.Keys)
	}
	if o.OpsPerKey < 1 {
		return fmt.Errorf("--ops-per-key %d is out of range: choose at least 1", o.OpsPerKey)
	}
	switch o.Reads {
	case ReadSync, ReadLocal, ReadNone:
	default:
		return fmt.Errorf("--reads %q is not a read mode: choose sync, local or none", o.Reads)
	}
	if o.OpTimeout < 10*time.Millisecond {
		return fmt.Errorf("--op-timeout %s is too short: give at least 10ms", o.OpTimeout)
	}
	return nil
}
