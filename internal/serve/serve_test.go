package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/fixture"
	"github.com/faultline/faultline/results"
)

// crashedRun is a run that never wrote results.json.
const crashedRun = "zk-register/20261201T030000.000Z"

var (
	storeOnce sync.Once
	storeDir  string
	storeErr  error
)

// testStore is the fixture store with its reports, a crashed run, the
// latest links, and symlinks that lead out of the store. It is made once
// and only read.
func testStore(t testing.TB) string {
	t.Helper()
	storeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "faultline-serve-test-")
		if err != nil {
			storeErr = err
			return
		}
		storeDir = dir
		if _, storeErr = fixture.Materialize(dir); storeErr != nil {
			return
		}
		storeErr = addCrashedRun(dir)
		if storeErr == nil {
			storeErr = results.MarkLatest(filepath.Join(dir, fixture.InvalidRun))
		}
		outside, _ := os.MkdirTemp("", "faultline-outside-")
		_ = os.WriteFile(filepath.Join(outside, "secret"), []byte("not the store's"), 0o644)
		_ = os.Symlink(outside, filepath.Join(dir, "zk-register", "20261201T040000.000Z"))
		_ = os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, fixture.ValidRun, "secret.log"))
	})
	if storeErr != nil {
		t.Fatal(storeErr)
	}
	return storeDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if storeDir != "" {
		os.RemoveAll(storeDir)
	}
	os.Exit(code)
}

// addCrashedRun copies the valid run's test.json and part of its history
// into a run of its own, with no results.json.
func addCrashedRun(store string) error {
	dir := filepath.Join(store, crashedRun)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(store, fixture.ValidRun, results.TestFile))
	if err != nil {
		return err
	}
	b = []byte(strings.Replace(string(b), `"start": "2026-11-30T02:00:00Z"`, `"start": "2026-12-01T03:00:00Z"`, 1))
	if err := os.WriteFile(filepath.Join(dir, results.TestFile), b, 0o644); err != nil {
		return err
	}
	h, err := os.ReadFile(filepath.Join(store, fixture.ValidRun, results.HistoryFile))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, results.HistoryFile), h[:len(h)/3], 0o644)
}

func newServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(testStore(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

var rowPattern = regexp.MustCompile(`<tr class="run" data-verdict="([a-z]+)" data-test="([^"]+)" data-path="([^"]+)">`)

// rows lists the listing's rows as verdict test path.
func rows(body string) []string {
	var out []string
	for _, m := range rowPattern.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+" "+m[3])
	}
	return out
}

// TestListing: every run, newest first, with its verdict; the crashed
// run is listed as such and opens its folder; the others open their
// reports, which are served.
func TestListing(t *testing.T) {
	s := newServer(t)
	w := get(t, s, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d", w.Code)
	}
	body := w.Body.String()
	want := []string{"none " + crashedRun, "invalid " + filepath.ToSlash(fixture.InvalidRun),
		"unknown " + filepath.ToSlash(fixture.UnknownRun), "valid " + filepath.ToSlash(fixture.ValidRun)}
	if got := rows(body); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, say := range []string{"the run crashed, was interrupted, or is still running", "lost-write 75", "zk 3.8.4, kafka 3.9.2",
		`class="trend" data-test="kafka-queue"`, `class="trend" data-test="zk-register"`, "partition", "4242"} {
		if !strings.Contains(body, say) {
			t.Errorf("the listing does not say %q", say)
		}
	}
	if !strings.Contains(body, `href="/runs/`+crashedRun+`/"`) {
		t.Error("the crashed run does not open its folder")
	}
	for _, run := range fixture.Runs() {
		href := "/runs/" + filepath.ToSlash(run) + "/report.html"
		if !strings.Contains(body, `href="`+href+`"`) {
			t.Errorf("no link to %s", href)
		}
		r := get(t, s, href)
		if r.Code != http.StatusOK || !strings.HasPrefix(r.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s = %d %s", href, r.Code, r.Header().Get("Content-Type"))
		}
	}
	if r := get(t, s, "/runs/"+crashedRun+"/"); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), "history.jsonl") {
		t.Errorf("the crashed run's folder: %d", r.Code)
	}
	if r := get(t, s, "/runs/latest/report.html"); r.Code != http.StatusOK {
		t.Errorf("store/latest, a link inside the store: %d", r.Code)
	}
	if r := get(t, s, "/runs/"+filepath.ToSlash(fixture.ValidRun)+"/zk1/zookeeper.log"); r.Code != http.StatusOK || r.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("a server log: %d %s", r.Code, r.Header().Get("Content-Type"))
	}
}

func TestFilters(t *testing.T) {
	s := newServer(t)
	cases := []struct {
		query string
		want  []string
	}{
		{"?test=zk-register", []string{"none " + crashedRun, "unknown " + filepath.ToSlash(fixture.UnknownRun), "valid " + filepath.ToSlash(fixture.ValidRun)}},
		{"?verdict=invalid", []string{"invalid " + filepath.ToSlash(fixture.InvalidRun)}},
		{"?test=zk-register&verdict=unknown", []string{"unknown " + filepath.ToSlash(fixture.UnknownRun)}},
		{"?verdict=none", []string{"none " + crashedRun}},
		{"?test=kafka-queue&verdict=valid", nil},
		{"?test=no-such-test", nil},
	}
	for _, tc := range cases {
		body := get(t, s, "/"+tc.query).Body.String()
		if got := rows(body); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
		}
		if len(tc.want) == 0 && !strings.Contains(body, "No run matches") {
			t.Errorf("%s: no 'No run matches'", tc.query)
		}
	}
	var api []results.RunEntry
	if err := json.Unmarshal(get(t, s, "/api/runs?verdict=invalid").Body.Bytes(), &api); err != nil || len(api) != 1 || api[0].Anomalies["lost-write"] != 75 {
		t.Errorf("api: %v %+v", err, api)
	}
	if body := get(t, s, "/?test=kafka-queue").Body.String(); strings.Contains(body, `data-test="zk-register"`) {
		t.Error("the trend of another test is shown under a test filter")
	}
}

// TestOutsideTheStoreIsRefused: no URL reaches a file outside the store:
// not by .., encoded or not, nor by a symlink leading out.
func TestOutsideTheStoreIsRefused(t *testing.T) {
	s := newServer(t)
	for _, target := range []string{
		"/runs/../../../../etc/passwd",
		"/runs/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/runs/zk-register/..%2f..%2f..%2fetc/passwd",
		"/runs/zk-register/20261201T040000.000Z/secret",
		"/runs/" + filepath.ToSlash(fixture.ValidRun) + "/secret.log",
		"/runs/..\\..\\etc\\passwd",
	} {
		w := get(t, s, target)
		if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "root:") || strings.Contains(w.Body.String(), "not the store's") {
			t.Errorf("%s = %d %q, want it refused (403)", target, w.Code, w.Body.String())
		}
	}
	// The same through a real server, the request line as sent.
	srv := httptest.NewServer(s)
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /runs/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "root:") {
		t.Errorf("raw request: %d %q", resp.StatusCode, body)
	}
	if w := httptest.NewRecorder(); true {
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/runs/latest/results.json", strings.NewReader("x")))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST = %d", w.Code)
		}
	}
}

func TestMissing(t *testing.T) {
	s := newServer(t)
	for _, target := range []string{"/runs/zk-register/20990101T000000.000Z/report.html", "/runs/no-such-test/", "/nope", "/runs/" + crashedRun + "/report.html"} {
		if w := get(t, s, target); w.Code != http.StatusNotFound {
			t.Errorf("%s = %d, want 404", target, w.Code)
		}
	}
}

// TestIndexSeesChanges: a run that gets its results.json is listed with
// its verdict at the next listing.
func TestIndexSeesChanges(t *testing.T) {
	store := t.TempDir()
	if err := os.CopyFS(store, os.DirFS(fixture.Dir())); err != nil {
		t.Fatal(err)
	}
	res := filepath.Join(store, fixture.InvalidRun, results.ResultsFile)
	b, _ := os.ReadFile(res)
	os.Remove(res)
	ix := results.NewIndex(store)
	verdictOf := func() string {
		runs, err := ix.List()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range runs {
			if e.Path == filepath.ToSlash(fixture.InvalidRun) {
				return e.Verdict
			}
		}
		return "missing"
	}
	if v := verdictOf(); v != results.VerdictNone {
		t.Fatalf("without results.json: %s", v)
	}
	if err := os.WriteFile(res, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(); v != results.VerdictInvalid {
		t.Fatalf("with results.json: %s", v)
	}
}

// BenchmarkListing measures listing a store of 1,000 runs: cold (a new
// index reads every run's test.json and results.json head) and warm (the
// page, with the index kept, as serve keeps it).
func BenchmarkListing(b *testing.B) {
	store := bigStore(b, 1000)
	b.Run("cold-index", func(b *testing.B) {
		for b.Loop() {
			runs, err := results.NewIndex(store).List()
			if err != nil || len(runs) != 1000 {
				b.Fatal(len(runs), err)
			}
		}
	})
	s, err := New(store)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("warm-page", func(b *testing.B) {
		for b.Loop() {
			w := get(b, s, "/")
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
			b.SetBytes(int64(w.Body.Len()))
		}
	})
	b.Run("warm-page-filtered", func(b *testing.B) {
		for b.Loop() {
			if w := get(b, s, "/?test=kafka-queue&verdict=invalid"); w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}

// bigStore makes a store of n runs from the fixture's runs' files (test.json,
// results.json, history.jsonl and report.html), spread over four tests
// and n nights.
func bigStore(b *testing.B, n int) string {
	b.Helper()
	src := b.TempDir()
	if _, err := fixture.Materialize(src); err != nil {
		b.Fatal(err)
	}
	store := b.TempDir()
	tests := []string{"zk-register", "kafka-queue", "zk-register-quorum", "kafka-queue-acks-all"}
	first := time.Date(2024, 1, 1, 2, 0, 0, 0, time.UTC)
	for i := range n {
		run := fixture.Runs()[i%3]
		start := first.Add(time.Duration(i) * 24 * time.Hour / 4)
		dir := filepath.Join(store, tests[i%4], start.Format("20060102T150405.000Z"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, f := range []string{results.TestFile, results.ResultsFile, results.HistoryFile, results.ReportFile} {
			data, err := os.ReadFile(filepath.Join(src, run, f))
			if err != nil {
				b.Fatal(err)
			}
			if f == results.TestFile {
				data = regexp.MustCompile(`"start": "[^"]+"`).ReplaceAll(data, []byte(`"start": "`+start.Format(time.RFC3339)+`"`))
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return store
}
