package nemesis

import (
	"strings"
	"testing"

	"github.com/faultline/faultline/cluster"
)

type fakeBroker struct {
	cluster.Node
	name string
	id   int
}

func (b fakeBroker) Name() string { return b.name }
func (b fakeBroker) ID() int      { return b.id }

func TestMostLeading(t *testing.T) {
	brokers := []cluster.Node{fakeBroker{name: "kafka1", id: 1}, fakeBroker{name: "kafka2", id: 2}, fakeBroker{name: "kafka3", id: 3}}
	cases := []struct {
		led  map[int]int
		want string
	}{
		{map[int]int{1: 1, 2: 2, 3: 0}, "kafka2"},
		{map[int]int{1: 1, 2: 1, 3: 1}, "kafka1"}, // a tie goes to the lowest id
		{map[int]int{3: 4}, "kafka3"},
		{map[int]int{2: 2, 3: 2}, "kafka2"},
	}
	for _, c := range cases {
		got, err := mostLeading(brokers, c.led, "t")
		if err != nil || got != c.want {
			t.Errorf("mostLeading(%v) = %q, %v; want %s", c.led, got, err, c.want)
		}
	}
	if _, err := mostLeading(brokers, map[int]int{}, "t"); err == nil || !strings.Contains(err.Error(), "no broker leads") {
		t.Errorf("no leaders: %v", err)
	}
	if _, err := mostLeading(brokers, map[int]int{9: 3}, "t"); err == nil {
		t.Error("a leader that is not a broker of the cluster was picked")
	}
}
