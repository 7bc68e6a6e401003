package checker

import (
	"context"
	"fmt"

	"github.com/faultline/faultline/history"
)

// The consistency a zk-register test requires of its reads (--consistency).
const (
	// ConsistencyLinearizable requires every read to be linearizable:
	// the Linearizable result is part of the verdict.
	ConsistencyLinearizable = "linearizable"
	// ConsistencySequential requires what ZooKeeper promises of reads
	// that are not made linearizable: sequential consistency per session.
	// The Linearizable result is then advisory, a finding.
	ConsistencySequential = "sequential"
)

// ZKRegisterConsistency returns the consistency the zk-register read mode
// reads ("quorum", "sync", "local", "none"; empty is sync, the workload's
// default) is promised by ZooKeeper: linearizable for quorum reads (a
// write on the session before each read), sequential for the others, sync
// included (ZOOKEEPER-1675).
func ZKRegisterConsistency(reads string) (string, error) {
	switch reads {
	case "quorum":
		return ConsistencyLinearizable, nil
	case "", "sync", "local", "none":
		return ConsistencySequential, nil
	}
	return "", fmt.Errorf("zk-register has no read mode %q: choose quorum, sync, local or none", reads)
}

// ZKRegisterCheckers returns the checkers for a zk-register history made
// with read mode reads, requiring consistency of its reads
// (ConsistencyLinearizable or ConsistencySequential; empty is what the read
// mode is promised, see ZKRegisterConsistency):
//
//   - LinearizableWrites: ZooKeeper's writes are linearizable whatever the
//     reads.
//   - Sequential: every session's ops fit the order of the writes' zxids.
//   - Linearizable: the whole history, reads included. When consistency is
//     sequential it is advisory: its result does not count in the verdict
//     and its Advisory says why.
//
// Run them with All.
func ZKRegisterCheckers(reads, consistency string) ([]Checker, error) {
	promised, err := ZKRegisterConsistency(reads)
	if err != nil {
		return nil, err
	}
	if consistency == "" {
		consistency = promised
	}
	var lin Checker = Linearizable{}
	switch {
	case consistency == ConsistencyLinearizable:
	case consistency != ConsistencySequential:
		return nil, fmt.Errorf("no consistency %q: choose %s or %s", consistency, ConsistencyLinearizable, ConsistencySequential)
	case promised == ConsistencyLinearizable:
		lin = Advisory(lin, "not required (--consistency sequential), though quorum reads are promised to be linearizable")
	default:
		lin = Advisory(lin, "not promised by ZooKeeper; --consistency linearizable to require")
	}
	return []Checker{LinearizableWrites{}, Sequential{}, lin}, nil
}

// Advisory returns a Checker that runs c and makes its result a finding:
// it sets Result.Advisory to why, so that Compose leaves its verdict out.
func Advisory(c Checker, why string) Checker { return advisory{c, why} }

type advisory struct {
	Checker
	why string
}

func (a advisory) Check(ctx context.Context, ops []history.Op, opts Options) Result {
	res := a.Checker.Check(ctx, ops, opts)
	res.Advisory = a.why
	return res
}
