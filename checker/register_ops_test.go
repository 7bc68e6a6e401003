package checker

import (
	"testing"

	"github.com/faultline/faultline/history"
)

// compareRegisterPaths checks that each scanner that accepts b reads it as
// encoding/json does.
func compareRegisterPaths(t *testing.T, b []byte) (compact, plain bool) {
	t.Helper()
	want, err := decodeRegisterJSON(b)
	var fast, mid registerValue
	compact, plain = scanCompactRegisterValue(b, &fast), scanRegisterValue(b, &mid)
	for _, p := range []struct {
		name string
		ok   bool
		v    registerValue
	}{{"the compact scanner", compact, fast}, {"the scanner", plain, mid}} {
		switch {
		case !p.ok:
		case err != nil:
			t.Fatalf("%s: %s accepts it, encoding/json says %v", b, p.name, err)
		case p.v != want:
			t.Fatalf("%s: %s reads %+v, encoding/json %+v", b, p.name, p.v, want)
		}
	}
	return compact, plain
}

func TestRegisterValuePaths(t *testing.T) {
	for _, tc := range []struct {
		value                  string
		compact, plain         bool
		valid                  bool
		wantValue, wantVersion int64
	}{
		{`{"value":17}`, true, true, true, 17, 0},
		{`{"value":17,"version":4,"zxid":4294967321}`, true, true, true, 17, 4},
		{`{"expected_version":3,"value":18,"version":4,"zxid":4294967321}`, true, true, true, 18, 4},
		{`{}`, true, true, true, 0, 0},
		{`{ "value": 17 }`, false, true, true, 17, 0},
		{`{"value":-1}`, false, false, true, -1, 0},
		{`{"value":17,"value":18}`, false, false, true, 18, 0},
		{`{"value":17,"other":1}`, false, false, true, 17, 0},
		{`{"value":null}`, false, false, true, 0, 0},
		{`{"value":1.5}`, false, false, false, 0, 0},
		{`{"value":1e3}`, false, false, false, 0, 0},
		{`{"value":017}`, false, false, false, 0, 0},
		{`{"value":"17"}`, false, false, false, 0, 0},
		{`{"zxid":1234567890123456789}`, false, true, true, 0, 0},   // 19 digits
		{`{"zxid":123456789012345678}`, true, true, true, 0, 0},     // 18
		{`{"zxid":9223372036854775808}`, false, false, false, 0, 0}, // too big
		{`{"value":17}x`, false, false, false, 0, 0},
		{`{"value":17`, false, false, false, 0, 0},
		{`null`, false, false, true, 0, 0},
		{`17`, false, false, false, 0, 0},
	} {
		compact, plain := compareRegisterPaths(t, []byte(tc.value))
		if compact != tc.compact || plain != tc.plain {
			t.Errorf("%s: compact scanner %v, scanner %v; want %v, %v", tc.value, compact, plain, tc.compact, tc.plain)
		}
		v, err := parseRegisterValue(&history.Op{F: "write", Value: []byte(tc.value)})
		if (err == nil) != tc.valid {
			t.Errorf("%s: error %v, want valid %v", tc.value, err, tc.valid)
			continue
		}
		if err == nil && (v.value != tc.wantValue || v.version != tc.wantVersion) {
			t.Errorf("%s: read %+v", tc.value, v)
		}
	}
}

func FuzzRegisterValue(f *testing.F) {
	for _, s := range []string{`{"value":17}`, `{"expected_version":3,"value":18,"version":4,"zxid":4294967321}`, `{ "zxid" : 12 }`, `{"value":-3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compareRegisterPaths(t, b)
	})
}
