package history

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProcessJSON(t *testing.T) {
	for _, tc := range []struct {
		p    Process
		json string
	}{
		{0, `0`},
		{31, `31`},
		{Nemesis, `"nemesis"`},
		{Observer, `"observer"`},
	} {
		got, err := json.Marshal(tc.p)
		if err != nil || string(got) != tc.json {
			t.Errorf("Marshal(%d) = %s, %v; want %s", int(tc.p), got, err, tc.json)
		}
		var back Process
		if err := json.Unmarshal([]byte(tc.json), &back); err != nil || back != tc.p {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", tc.json, int(back), err, int(tc.p))
		}
	}
	for _, bad := range []string{`-1`, `-2`, `-7`, `"client"`, `"Observer"`, `1.5`, `true`, `null`, `"1"`, `99999999999`} {
		var p Process
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("Unmarshal(%s) = %d, want an error", bad, int(p))
		}
	}
	if _, err := json.Marshal(Process(-3)); err == nil {
		t.Error("Marshal(-3) succeeded, want an error")
	}
	for p, want := range map[Process]bool{0: true, 7: true, Nemesis: false, Observer: false} {
		if p.IsClient() != want {
			t.Errorf("%s.IsClient() = %v, want %v", p, !want, want)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s.Validate() = %v", p, err)
		}
	}
	if Observer.String() != "observer" {
		t.Errorf("Observer.String() = %q", Observer.String())
	}
}

func TestTypeValidate(t *testing.T) {
	for _, ty := range []Type{Invoke, OK, Fail, Info} {
		if err := ty.Validate(); err != nil {
			t.Errorf("%q: %v", ty, err)
		}
	}
	for _, ty := range []Type{"", "OK", "oks", "invoked"} {
		if err := ty.Validate(); err == nil {
			t.Errorf("%q: no error", ty)
		}
	}
	if Invoke.IsCompletion() || !OK.IsCompletion() || !Fail.IsCompletion() || !Info.IsCompletion() {
		t.Error("IsCompletion is wrong")
	}
}

func TestOpValidate(t *testing.T) {
	good := Op{Index: 1, Time: 2, Process: 3, Type: OK, F: "read", Value: json.RawMessage(`{"value":1}`)}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid op: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Op)
		want string
	}{
		{func(o *Op) { o.Index = -1 }, "negative index"},
		{func(o *Op) { o.Time = -5 }, "negative time -5"},
		{func(o *Op) { o.Process = -3 }, "process -3 is invalid"},
		{func(o *Op) { o.Type = "done" }, `unknown type "done"`},
		{func(o *Op) { o.F = "" }, `missing "f"`},
		{func(o *Op) { o.Value = json.RawMessage(`{"value":`) }, "value is not valid JSON"},
	} {
		op := good
		tc.edit(&op)
		err := op.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
		}
	}
}
