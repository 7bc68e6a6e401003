package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/faultline/faultline/internal/fixture"
)

// chromium finds a Chromium to drive: $FAULTLINE_CHROMIUM, or Debian's
// chromium on the PATH.
func chromium() string {
	if p := os.Getenv("FAULTLINE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives headless Chromium against `faultline serve` on a
// store of a valid, an invalid and an unknown run: the table shows them
// with their verdicts, the filters work, a report opens with its
// pictures loaded, from the server and from the disk, and no page logs an
// error. It saves screenshots of the list and of the invalid run's report
// into $FAULTLINE_SCREENSHOTS (or the test's temporary folder).
//
// It needs Chromium (apt-get install chromium, as scripts/install-deps.sh
// does) and skips without it, except in CI (CI=true), which installs it.
func TestBrowser(t *testing.T) {
	browser := chromium()
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium on the PATH, and CI installs it (scripts/install-deps.sh): the browser test cannot run")
		}
		t.Skip("no chromium on the PATH: apt-get install chromium (scripts/install-deps.sh does) to run the browser test")
	}
	if testing.Short() {
		t.Skip("-short: the browser test builds faultline and starts Chromium")
	}
	shots := os.Getenv("FAULTLINE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	if _, err := fixture.Materialize(store); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, store)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Every console error, exception and failed load of every page.
	var mu sync.Mutex
	var problems []string
	consoleCtx, stopConsole := context.WithCancel(ctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range chromedp.Console(consoleCtx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %s (%s)", m.Type, m.Text, m.URL))
				mu.Unlock()
			}
		}
	}()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	rowsJS := `Array.from(document.querySelectorAll("tr.run")).map(r => r.dataset.verdict + " " + r.dataset.test)`
	do(t, ctx, "the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#runs")))
	rows := get(t, ctx, "the rows", chromedp.Evaluate[[]string](rowsJS))
	if want := []string{"invalid kafka-queue", "unknown zk-register", "valid zk-register"}; !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	screenshot(t, ctx, filepath.Join(shots, "list.png"))

	// Filters, as a person uses them: choosing in a select submits the form.
	choose := func(id, value string) chromedp.Action[page.EventLoadEventFired] {
		return chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Evaluate[bool](fmt.Sprintf(
			`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event("change")); return true })()`, id, value)))
	}
	get(t, ctx, "filter by verdict", choose("verdict", "invalid"))
	loc := get(t, ctx, "location", chromedp.Location())
	rows = get(t, ctx, "the rows", chromedp.Evaluate[[]string](rowsJS))
	if !strings.Contains(loc, "verdict=invalid") || !slices.Equal(rows, []string{"invalid kafka-queue"}) {
		t.Errorf("verdict filter: at %s, rows %q", loc, rows)
	}
	do(t, ctx, "back to the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#runs")))
	get(t, ctx, "filter by test", choose("test", "zk-register"))
	rows = get(t, ctx, "the rows", chromedp.Evaluate[[]string](rowsJS))
	if !slices.Equal(rows, []string{"unknown zk-register", "valid zk-register"}) {
		t.Errorf("test filter: rows %q", rows)
	}

	// The invalid run's report, opened from its row.
	do(t, ctx, "back to the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#runs")))
	get(t, ctx, "open a report", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`tr.run[data-test="kafka-queue"] a.open`))))
	do(t, ctx, "the report", chromedp.WaitVisible(chromedp.ID("verdict")))
	verdict := get(t, ctx, "the verdict", chromedp.Text(chromedp.ID("verdict")))
	loc = get(t, ctx, "location", chromedp.Location())
	if verdict != "invalid" || !strings.HasSuffix(loc, "/kafka-queue/20261201T021500.000Z/report.html") {
		t.Errorf("report at %s shows %q", loc, verdict)
	}
	checkImages(t, ctx, "served report", 3)
	status := get(t, ctx, "the report's links", chromedp.Evaluate[map[string]int](`(async () => { const out = {};
		for (const a of document.querySelectorAll("#files a")) { out[a.getAttribute("href")] = (await fetch(a.href)).status }
		return out })()`, chromedp.EvalAwaitPromise))
	for _, f := range []string{"history.jsonl", "results.json", "faultline.log", "kafka1/server.log", "zk1/zookeeper.log", "junit.xml", "test.json"} {
		if status[f] != 200 {
			t.Errorf("the report's link to %s: %d (all: %v)", f, status[f], status)
		}
	}
	screenshot(t, ctx, filepath.Join(shots, "report-invalid.png"))

	// A report from the disk.
	do(t, ctx, "a report from file://", chromedp.Navigate("file://"+filepath.Join(store, fixture.ValidRun, "report.html")), chromedp.WaitVisible(chromedp.ID("verdict")))
	if v := get(t, ctx, "the verdict", chromedp.Text(chromedp.ID("verdict"))); v != "valid" {
		t.Errorf("file:// report shows %q", v)
	}
	checkImages(t, ctx, "file:// report", 2)

	stopConsole()
	<-consoleDone
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("screenshots: %s, %s", filepath.Join(shots, "list.png"), filepath.Join(shots, "report-invalid.png"))
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// checkImages waits for the page's images and checks that each loaded.
func checkImages(t *testing.T, ctx context.Context, where string, want int) {
	t.Helper()
	get(t, ctx, where+": images", chromedp.Poll[bool](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(20*time.Second)))
	type img struct {
		File     string  `json:"file"`
		Complete bool    `json:"complete"`
		Width    float64 `json:"width"`
	}
	imgs := get(t, ctx, where+": images", chromedp.Evaluate[[]img](`Array.from(document.images).map(i => ({file: i.dataset.file, complete: i.complete, width: i.naturalWidth}))`))
	if len(imgs) != want {
		t.Errorf("%s: %d images, want %d", where, len(imgs), want)
	}
	for _, i := range imgs {
		if !i.Complete || i.Width <= 0 {
			t.Errorf("%s: image %s did not load (naturalWidth %v)", where, i.File, i.Width)
		}
	}
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startServe builds faultline and runs `faultline serve` on store, on a
// free port of the loopback, until the test ends.
func startServe(t *testing.T, store string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "faultline")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--store", store, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("faultline serve said nothing: %v", err)
	}
	// "serving STORE at http://127.0.0.1:PORT/ (Ctrl-C to stop)"
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("faultline serve said %q", line)
	}
	return strings.TrimSuffix(strings.Fields(line[i:])[0], "/")
}
