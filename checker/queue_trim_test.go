package checker

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

func TestTrimPoll(t *testing.T) {
	var recs []string
	for off := range 20 {
		recs = append(recs, fmt.Sprintf(`[%d,"1-%d"]`, off, off))
	}
	op := history.Op{F: "poll", Type: history.OK, Value: json.RawMessage(`{"mode":"final","records":{"0":[` + strings.Join(recs, ",") + `]},"end_offset":20}`)}
	decode := func(op history.Op) (offs []int64, elided int, end int64) {
		var v struct {
			Records map[string][][2]json.RawMessage `json:"records"`
			Elided  int                             `json:"elided"`
			End     int64                           `json:"end_offset"`
		}
		if err := json.Unmarshal(op.Value, &v); err != nil {
			t.Fatalf("%s: %v", op.Value, err)
		}
		for _, r := range v.Records["0"] {
			var off int64
			_ = json.Unmarshal(r[0], &off)
			offs = append(offs, off)
		}
		return offs, v.Elided, v.End
	}
	offs, elided, end := decode(trimPoll(op, 0, []int64{10}))
	if fmt.Sprint(offs) != "[8 9 10 11 12]" || elided != 15 || end != 20 {
		t.Errorf("focus 10 kept %v, elided %d, end %d", offs, elided, end)
	}
	offs, elided, _ = decode(trimPoll(op, 0, []int64{500}))
	if fmt.Sprint(offs) != "[0 1 18 19]" || elided != 16 {
		t.Errorf("a focus far away kept %v, elided %d; want the two lowest and highest", offs, elided)
	}
	small := history.Op{F: "poll", Value: json.RawMessage(`{"mode":"assign","records":{"0":[[1,"1-1"]]}}`)}
	if got := trimPoll(small, 0, []int64{1}); string(got.Value) != string(small.Value) {
		t.Errorf("a small poll changed: %s", got.Value)
	}
	if string(op.Value[:8]) != `{"mode":` || !strings.Contains(string(op.Value), `[19,"1-19"]`) {
		t.Error("trimPoll changed the history's op")
	}
}
