package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// observe records an answered observation of node: invoked at ms,
// answered 1 ms later with value.
func (h *lockHist) observe(f, node string, ms float64, value string) *lockHist {
	return h.add(ms, history.Observer, history.Invoke, f, "", fmt.Sprintf(`{"node":%q}`, node), "").
		add(ms+1, history.Observer, history.OK, f, "", value, "")
}

// zkMode observes a ZooKeeper node in mode at epoch.
func (h *lockHist) zkMode(node string, ms float64, mode string, epoch int) *lockHist {
	return h.observe("zk-mode", node, ms, fmt.Sprintf(`{"node":%q,"mode":%q,"epoch":%d,"zxid":%d}`, node, mode, epoch, epoch<<32))
}

// unanswered is an observation node did not answer: invoked at ms, info
// at doneMS.
func (h *lockHist) unanswered(f, node string, ms, doneMS float64) *lockHist {
	v := fmt.Sprintf(`{"node":%q}`, node)
	return h.add(ms, history.Observer, history.Invoke, f, "", v, "").add(doneMS, history.Observer, history.Info, f, "", v, "timeout")
}

func checkLeadership(t *testing.T, ops []history.Op) (Result, *LeadershipDetails) {
	t.Helper()
	res := Leadership{}.Check(context.Background(), ops, Options{})
	if res.Advisory != LeadershipAdvisory {
		t.Errorf("advisory %q", res.Advisory)
	}
	d, _ := res.Details.(*LeadershipDetails)
	if res.Error == "" && d == nil {
		t.Fatalf("no details: %+v", res)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatal(err)
	}
	return res, d
}

func TestLeadershipZKLeaders(t *testing.T) {
	h := &lockHist{}
	h.fault("partition", 2500, 6000)
	for s := range 8 {
		ms := float64(s) * 1000
		// zk1 leads until it learns at 5 s that it is not; zk2 leads
		// from 3 s; zk3 follows.
		if s < 5 {
			h.zkMode("zk1", ms, "leader", 5)
		} else {
			h.zkMode("zk1", ms, "follower", 6)
		}
		if s < 3 {
			h.zkMode("zk2", ms+100, "follower", 5)
		} else {
			h.zkMode("zk2", ms+100, "leader", 6)
		}
		h.zkMode("zk3", ms+200, "follower", 5)
	}
	res, d := checkLeadership(t, h.build())
	if res.Valid != Invalid || res.AnomalyCounts["zk-leader-overlap"] != 1 || len(res.Anomalies) != 1 {
		t.Fatalf("valid %v, counts %v, anomalies %+v, notes %q, error %q", res.Valid, res.AnomalyCounts, res.Anomalies, res.Notes, res.Error)
	}
	// zk1's leadership holds from 1 ms to its follower answer at 5001
	// ms; zk2's from 3101 ms.
	o := d.Longest["zk-leader"]
	if o == nil || o.Nodes != [2]string{"zk1", "zk2"} || o.Epochs != [2]int64{5, 6} || o.Start != 3101e6 || o.End != 5001e6 || o.Duration != 1900e6 {
		t.Fatalf("longest %+v", o)
	}
	if len(o.Faults) != 1 || o.Faults[0].Kind != "partition" {
		t.Errorf("faults %+v", o.Faults)
	}
	a := res.Anomalies[0]
	if !strings.HasPrefix(a.Message, "zk1 (epoch 5) and zk2 (epoch 6) both in mode leader for 1.9s, from 3.101s to 5.001s, during partition") || len(a.Ops) != 4 {
		t.Errorf("anomaly %+v", a)
	}
	head, _ := d.Summary()
	if head != "3 nodes observed; zk leaders 1 (longest 1.9s, during partition)" {
		t.Errorf("headline %q", head)
	}
	if len(d.Nodes) != 3 || d.Nodes[0].Node != "zk1" || len(d.Nodes[0].Intervals) != 2 ||
		d.Nodes[0].Intervals[0] != (LeadershipInterval{Start: 1e6, End: 5001e6, Role: "leader", Epoch: 5}) ||
		d.Nodes[0].Intervals[1].Role != "follower" || d.Nodes[0].Intervals[1].End != 7201e6 {
		t.Errorf("nodes %+v", d.Nodes)
	}
	if d.Observations != 24 || d.Unanswered != 0 || len(d.Overlaps) != 1 {
		t.Errorf("details %+v", d)
	}
}

func TestLeadershipSerial(t *testing.T) {
	// zk1 leads, then is looking; then zk2 leads. zk3 leads after an
	// unanswered observation of zk2: its belief is unknown from then on.
	h := &lockHist{}
	h.zkMode("zk1", 0, "leader", 5).
		zkMode("zk2", 100, "follower", 5).
		zkMode("zk1", 1000, "looking", 5).
		zkMode("zk2", 1100, "leader", 6).
		zkMode("zk1", 2000, "follower", 6).
		unanswered("zk-mode", "zk2", 3000, 5000).
		zkMode("zk3", 5100, "leader", 7).
		zkMode("zk2", 6000, "looking", 7)
	res, d := checkLeadership(t, h.build())
	if res.Valid != Valid || res.AnomalyCounts["zk-leader-overlap"] != 0 || len(res.Anomalies) != 0 {
		t.Fatalf("valid %v, counts %v, anomalies %+v, error %q", res.Valid, res.AnomalyCounts, res.Anomalies, res.Error)
	}
	zk2 := d.Nodes[1]
	if zk2.Node != "zk2" || len(zk2.Intervals) != 4 || zk2.Intervals[2] != (LeadershipInterval{Start: 3000e6, End: 6001e6, Role: "unanswered"}) {
		t.Errorf("zk2 %+v", zk2)
	}
	if d.Unanswered != 1 {
		t.Errorf("unanswered %d", d.Unanswered)
	}
}

// kafkaView observes a broker's own view.
func (h *lockHist) kafkaView(node string, id int, ms float64, controller int, leaders, epochs string) *lockHist {
	return h.observe("kafka-view", node, ms, fmt.Sprintf(`{"node":%q,"id":%d,"controller":%d,"leaders":%s,"leader_epochs":%s}`, node, id, controller, leaders, epochs))
}

func TestLeadershipController(t *testing.T) {
	h := &lockHist{}
	h.kafkaView("kafka1", 1, 0, 1, `{}`, `{}`).
		kafkaView("kafka2", 2, 100, 1, `{}`, `{}`).
		kafkaView("kafka3", 3, 200, 1, `{}`, `{}`).
		kafkaView("kafka1", 1, 1000, 1, `{}`, `{}`). // still believes it is the controller
		kafkaView("kafka2", 2, 1100, 2, `{}`, `{}`). // so does kafka2, now
		kafkaView("kafka3", 3, 1200, 2, `{}`, `{}`). // not a claim
		kafkaView("kafka1", 1, 3000, 2, `{}`, `{}`).
		kafkaView("kafka2", 2, 3100, 2, `{}`, `{}`).
		kafkaView("kafka3", 3, 3200, -1, `{}`, `{}`)
	res, d := checkLeadership(t, h.build())
	if res.Valid != Invalid || res.AnomalyCounts["controller-overlap"] != 1 || res.AnomalyCounts["partition-leader-overlap"] != 0 {
		t.Fatalf("valid %v, counts %v, error %q", res.Valid, res.AnomalyCounts, res.Error)
	}
	o := d.Longest["controller"]
	if o.Nodes != [2]string{"kafka1", "kafka2"} || o.Start != 1101e6 || o.End != 3001e6 {
		t.Errorf("overlap %+v", o)
	}
	if a := res.Anomalies[0]; a.Kind != "controller-overlap" || !strings.HasPrefix(a.Message, "brokers kafka1 and kafka2 each named itself the controller for 1.9s") {
		t.Errorf("anomaly %+v", a)
	}
	if id := d.Nodes[0].ID; id == nil || *id != 1 || d.Nodes[0].Intervals[0].Role != "controller" || d.Nodes[2].Intervals[0].Role != "broker" {
		t.Errorf("nodes %+v", d.Nodes)
	}
	if _, ok := d.AnomalyCounts["zk-leader-overlap"]; ok {
		t.Errorf("counts %v: no zk-mode was observed", d.AnomalyCounts)
	}
	head, _ := d.Summary()
	if head != "3 nodes observed; controllers 1 (longest 1.9s, with no fault in place); partition leaders 0" {
		t.Errorf("headline %q", head)
	}
}

func TestLeadershipPartitions(t *testing.T) {
	h := &lockHist{}
	h.fault("kill", 500, 4000).
		kafkaView("kafka1", 1, 0, 1, `{"0":1,"1":2,"2":3}`, `{"0":7,"1":4,"2":2}`).
		kafkaView("kafka2", 2, 100, 1, `{"0":1,"1":2,"2":3}`, `{"0":7,"1":4,"2":2}`).
		kafkaView("kafka2", 2, 1100, 1, `{"0":2,"1":2,"2":3}`, `{"0":8,"1":4,"2":2}`). // kafka2 leads 0 now; kafka1 does not know
		kafkaView("kafka1", 1, 2000, 1, `{"0":1,"1":2,"2":3}`, `{"0":7,"1":4,"2":2}`).
		kafkaView("kafka1", 1, 3000, 1, `{"0":2,"1":2,"2":3}`, `{"0":8,"1":4,"2":2}`).
		kafkaView("kafka2", 2, 3100, 1, `{"0":2,"1":2,"2":3}`, `{"0":8,"1":4,"2":2}`)
	res, d := checkLeadership(t, h.build())
	if res.Valid != Invalid || res.AnomalyCounts["partition-leader-overlap"] != 1 || res.AnomalyCounts["controller-overlap"] != 0 {
		t.Fatalf("valid %v, counts %v, anomalies %+v, error %q", res.Valid, res.AnomalyCounts, res.Anomalies, res.Error)
	}
	o := d.Longest["partition-leader"]
	if o.Partition != "0" || o.Nodes != [2]string{"kafka1", "kafka2"} || o.Epochs != [2]int64{7, 8} || o.Start != 1101e6 || o.End != 3001e6 {
		t.Errorf("overlap %+v", o)
	}
	if a := res.Anomalies[0]; a.Key != "0" || !strings.HasPrefix(a.Message, "brokers kafka1 (leader epoch 7) and kafka2 (leader epoch 8) each named itself the leader of partition 0 for 1.9s, from 1.101s to 3.001s, during kill") {
		t.Errorf("anomaly %+v", a)
	}
	k2 := d.Nodes[1]
	if k2.Node != "kafka2" || len(k2.Intervals) != 2 || k2.Intervals[0].Leads != 1 || k2.Intervals[1].Leads != 2 {
		t.Errorf("kafka2 %+v", k2)
	}
}

func TestLeadershipKRaft(t *testing.T) {
	h := &lockHist{}
	h.observe("kraft-quorum", "ctrl1", 0, `{"node":"ctrl1","id":101,"leader":101,"epoch":4}`).
		observe("kraft-quorum", "ctrl2", 100, `{"node":"ctrl2","id":102,"leader":102,"epoch":4}`).
		observe("kraft-quorum", "ctrl3", 200, `{"node":"ctrl3","id":103,"leader":-1,"epoch":4}`).
		observe("kraft-quorum", "ctrl1", 1000, `{"node":"ctrl1","id":101,"leader":102,"epoch":4}`)
	res, d := checkLeadership(t, h.build())
	if res.Valid != Invalid || res.AnomalyCounts["kraft-leader-overlap"] != 1 {
		t.Fatalf("valid %v, counts %v, error %q", res.Valid, res.AnomalyCounts, res.Error)
	}
	if a := res.Anomalies[0]; !strings.Contains(a.Message, "in the same epoch, which Raft forbids,") {
		t.Errorf("anomaly %+v", a)
	}
	if d.Nodes[2].Intervals[0].Role != "unattached" || d.Nodes[0].Intervals[1].Role != "follower" {
		t.Errorf("nodes %+v", d.Nodes)
	}
}

// A KRaft cluster's brokers each name some broker, often themselves, as the
// controller (they forward to the quorum): with kraft-quorum observations
// in the history, that is no claim, while their partition leadership still is.
func TestLeadershipKRaftBrokersNameThemselves(t *testing.T) {
	h := &lockHist{}
	h.observe("kraft-quorum", "ctrl1", 0, `{"node":"ctrl1","id":101,"leader":101,"epoch":4}`).
		observe("kafka-view", "kafka1", 10, `{"node":"kafka1","id":1,"controller":1,"leaders":{"0":1},"leader_epochs":{"0":3}}`).
		observe("kafka-view", "kafka2", 20, `{"node":"kafka2","id":2,"controller":2,"leaders":{"0":1},"leader_epochs":{"0":3}}`).
		observe("kafka-view", "kafka1", 1000, `{"node":"kafka1","id":1,"controller":1,"leaders":{"0":1},"leader_epochs":{"0":3}}`).
		observe("kafka-view", "kafka2", 1010, `{"node":"kafka2","id":2,"controller":2,"leaders":{"0":1},"leader_epochs":{"0":3}}`)
	res, d := checkLeadership(t, h.build())
	if res.Valid != Valid || res.AnomalyCounts["controller-overlap"] != 0 {
		t.Fatalf("valid %v, counts %v, anomalies %v", res.Valid, res.AnomalyCounts, res.Anomalies)
	}
	for _, n := range d.Nodes {
		for _, iv := range n.Intervals {
			if iv.Role == "controller" {
				t.Errorf("%s drawn as controller: %+v", n.Node, iv)
			}
		}
	}
	// The same views with no KRaft controller observed are ZooKeeper
	// mode's brokers: two that name themselves are two controllers.
	h = &lockHist{}
	h.observe("kafka-view", "kafka1", 10, `{"node":"kafka1","id":1,"controller":1,"leaders":{}}`).
		observe("kafka-view", "kafka2", 20, `{"node":"kafka2","id":2,"controller":2,"leaders":{}}`).
		observe("kafka-view", "kafka1", 1000, `{"node":"kafka1","id":1,"controller":1,"leaders":{}}`).
		observe("kafka-view", "kafka2", 1010, `{"node":"kafka2","id":2,"controller":2,"leaders":{}}`)
	if res, _ := checkLeadership(t, h.build()); res.AnomalyCounts["controller-overlap"] != 1 {
		t.Errorf("zookeeper mode: counts %v", res.AnomalyCounts)
	}
}

func TestLeadershipUnknownAndMalformed(t *testing.T) {
	h := &lockHist{}
	h.acquire(0, "l1", "naive", 0, 10, 10)
	res, _ := checkLeadership(t, h.build())
	if res.Valid != Unknown || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "no observer ops") {
		t.Errorf("no observer ops: %v %q", res.Valid, res.Notes)
	}
	h.unanswered("zk-mode", "zk1", 100, 200)
	res, _ = checkLeadership(t, h.build())
	if res.Valid != Unknown || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "no node answered") {
		t.Errorf("nothing answered: %v %q", res.Valid, res.Notes)
	}
	for name, hist := range map[string]*lockHist{
		"no id":      (&lockHist{}).observe("kafka-view", "kafka1", 0, `{"node":"kafka1","controller":1,"leaders":{}}`),
		"unknown f":  (&lockHist{}).observe("zk-stat", "zk1", 0, `{}`),
		"no node":    (&lockHist{}).add(0, history.Observer, history.Invoke, "zk-mode", "", `{}`, ""),
		"no mode":    (&lockHist{}).observe("zk-mode", "zk1", 0, `{"node":"zk1"}`),
		"other node": (&lockHist{}).observe("zk-mode", "zk1", 0, `{"node":"zk2","mode":"leader"}`),
		"two invoke": (&lockHist{}).add(0, history.Observer, history.Invoke, "zk-mode", "", `{"node":"zk1"}`, "").add(1, history.Observer, history.Invoke, "zk-mode", "", `{"node":"zk1"}`, ""),
	} {
		res, _ := checkLeadership(t, hist.build())
		if res.Valid != Unknown || res.Error == "" || strings.Contains(res.Error, "\n") {
			t.Errorf("%s: valid %v, error %q", name, res.Valid, res.Error)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = Leadership{}.Check(ctx, genLockHistory(5000), Options{})
	if res.Valid != Unknown || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "cancelled") {
		t.Errorf("cancelled: %v %q", res.Valid, res.Notes)
	}
}
