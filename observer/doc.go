// Package observer is the leadership observer: while a test runs, it asks
// each node, from the harness's side of the run's network (which no fault
// cuts), about once a second what it believes about leadership, and
// records each question and its answer as a pair of ops of process
// observer in the history (docs/history.md, "Observer ops"), which
// checker.Leadership judges.
//
// What it asks, each node itself and no other:
//   - a ZooKeeper node (zk-mode): the srvr four-letter word, on its client
//     port, through a connection of its own: its mode and last zxid, whose
//     high 32 bits are the epoch. A node that says it is not serving
//     requests (electing a leader, or syncing with one) is recorded in
//     mode "not-serving", with no epoch or zxid.
//   - a broker (kafka-view): a Metadata request for the workload's topic
//     (none when the workload has no topic), sent to that broker alone
//     through a client seeded with it alone: the controller id its own
//     metadata names, and each partition's leader and leader epoch.
//   - a KRaft controller (kraft-quorum), on its controller listener:
//     DescribeQuorum, which a controller answers itself (a broker would
//     forward it to the active controller) but only while it leads: then
//     it names itself and its epoch. A controller that does not lead
//     answers NOT_LEADER_OR_FOLLOWER and names no leader, so it is asked
//     next with what Raft's own followers ask: a Fetch of the metadata log
//     in epoch 0, an epoch every quorum is past, which it refuses
//     (FENCED_LEADER_EPOCH) before reading anything or counting the asker
//     as a replica, naming in its refusal the leader and epoch it
//     believes in. A controller whose refusal cannot be had is recorded
//     as not answered, never as one with no leader.
//
// One question at a time: an op's invocation is recorded before the node
// is asked and its completion after, so the observer's calls never overlap
// in the history. A node has Options.Timeout (800ms) to answer; one that
// does not (paused, slowed) completes info with error "timeout", one that
// cannot be reached or answers with an error completes fail with the
// error, and the observer goes on to the next node: a stuck node costs a
// round no more than its timeout.
package observer
