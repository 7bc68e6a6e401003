package runner

import (
	"testing"

	"github.com/faultline/faultline/history"
)

// TestProcessIDs: a retired process's successor keeps its worker's id
// modulo the concurrency, and no id is handed out twice, the final reads'
// included.
func TestProcessIDs(t *testing.T) {
	in := newInterpreter(nil, discard{}, 4, 0)
	seen := map[history.Process]bool{0: true, 1: true, 2: true, 3: true}
	worker := []history.Process{0, 1, 2, 3}
	for _, w := range []int{2, 2, 0, 3, 2, 1, 1, 0} {
		next := in.successor(worker[w])
		if int(next)%4 != w {
			t.Errorf("worker %d's successor %d is not %d modulo 4", w, next, w)
		}
		if seen[next] {
			t.Errorf("process %d handed out twice", next)
		}
		seen[next] = true
		worker[w] = next
	}
	for range 3 {
		p := in.NewProcess()
		if seen[p] {
			t.Errorf("final-read process %d was already used", p)
		}
		seen[p] = true
	}
}
