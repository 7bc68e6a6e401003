// Package serve is `faultline serve`: a web page over a store of runs
// (every run in a table, newest first, filtered by test and verdict, a
// trend strip per test) and the runs' files, read-only, from the store
// and nowhere else.
package serve

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/results"
)

// Server serves a store.
type Server struct {
	store string
	root  *os.Root
	index *results.Index
}

// New serves the store at dir.
func New(dir string) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open the store %s: %w (give one with --store)", dir, err)
	}
	return &Server{store: abs, root: root, index: results.NewIndex(abs)}, nil
}

// Close closes the store.
func (s *Server) Close() error { return s.root.Close() }

// maxTrend bounds the runs a test's trend strip shows.
const maxTrend = 60

// ServeHTTP routes: / is the listing, /api/runs the same as JSON, and
// /runs/<path> a file or folder of the store.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the store is read-only: GET or HEAD", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case r.URL.Path == "/":
		s.listing(w, r)
	case r.URL.Path == "/api/runs":
		s.apiRuns(w, r)
	case r.URL.Path == "/runs" || strings.HasPrefix(r.URL.Path, "/runs/"):
		s.file(w, r)
	default:
		http.NotFound(w, r)
	}
}

// listingPage is what the listing's template shows.
type listingPage struct {
	Store         string
	Tests         []string
	Verdicts      []string
	Test, Verdict string
	Runs          []results.RunEntry
	Total         int
	Trends        []trend
	Counts        map[string]int
	Error         string
	Written       string
}

type trend struct {
	Test  string
	Cells []results.RunEntry // oldest first
	Last  string
	More  int
}

func (s *Server) filtered(r *http.Request) (all, shown []results.RunEntry, test, verdict string, err error) {
	all, err = s.index.List()
	if err != nil {
		return nil, nil, "", "", err
	}
	test, verdict = r.URL.Query().Get("test"), r.URL.Query().Get("verdict")
	for _, e := range all {
		if (test == "" || e.Test == test) && (verdict == "" || e.Verdict == verdict) {
			shown = append(shown, e)
		}
	}
	return all, shown, test, verdict, nil
}

func (s *Server) listing(w http.ResponseWriter, r *http.Request) {
	all, shown, test, verdict, err := s.filtered(r)
	page := listingPage{Store: s.store, Test: test, Verdict: verdict, Runs: shown, Total: len(all), Counts: map[string]int{},
		Verdicts: []string{results.VerdictValid, results.VerdictInvalid, results.VerdictUnknown, results.VerdictNone},
		Written:  time.Now().UTC().Format("2006-01-02 15:04:05 UTC")}
	if err != nil {
		page.Error = err.Error()
	}
	byTest := map[string][]results.RunEntry{}
	for _, e := range all {
		if !slices.Contains(page.Tests, e.Test) {
			page.Tests = append(page.Tests, e.Test)
		}
		byTest[e.Test] = append(byTest[e.Test], e)
	}
	for _, e := range shown {
		page.Counts[e.Verdict]++
	}
	slices.Sort(page.Tests)
	for _, t := range page.Tests {
		if test != "" && t != test {
			continue
		}
		runs := byTest[t] // newest first
		tr := trend{Test: t, Last: runs[0].Verdict}
		if len(runs) > maxTrend {
			tr.More = len(runs) - maxTrend
			runs = runs[:maxTrend]
		}
		for i := len(runs) - 1; i >= 0; i-- {
			tr.Cells = append(tr.Cells, runs[i])
		}
		page.Trends = append(page.Trends, tr)
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := listingTemplate.Execute(w, page); err != nil {
		fmt.Fprintf(w, "<p>%s</p>", template.HTMLEscapeString(err.Error()))
	}
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	_, shown, _, _, err := s.filtered(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if shown == nil {
		shown = []results.RunEntry{}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(shown)
}

// setPageHeaders forbids a page to load anything from elsewhere: the
// store's pages are self-contained.
func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'self' 'unsafe-inline' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'self'")
	w.Header().Set("Cache-Control", "no-cache")
}

// storePath turns a URL's path under /runs/ into a path inside the
// store, refusing any that would climb out of it.
func storePath(urlPath string) (string, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(urlPath, "/runs"), "/")
	if rel == "" {
		return ".", true
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." || strings.ContainsRune(seg, '\\') || strings.ContainsRune(seg, 0) {
			return "", false
		}
	}
	clean := path.Clean(rel)
	if !fs.ValidPath(clean) {
		return "", false
	}
	return clean, true
}

// file serves a file or a folder of the store. The store is opened as an
// os.Root: a path, or a symlink on it, that leads out of the store is
// refused.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	rel, ok := storePath(r.URL.Path)
	if !ok {
		http.Error(w, "refused: that path leads out of the store", http.StatusForbidden)
		return
	}
	f, err := s.root.Open(rel)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			http.Error(w, fmt.Sprintf("no %s in the store", rel), http.StatusNotFound)
		default:
			// os.Root's "path escapes from parent", a symlink out of the
			// store, or a file the server may not read.
			http.Error(w, "refused: that path leads out of the store, or cannot be read", http.StatusForbidden)
		}
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "cannot read it", http.StatusForbidden)
		return
	}
	if st.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		s.folder(w, rel, f)
		return
	}
	if !st.Mode().IsRegular() {
		http.Error(w, "not a file", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", contentType(rel))
	setPageHeaders(w)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// contentType shows the store's text files as text, never as downloads.
func contentType(name string) string {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".jsonl", ".log", ".cfg", ".properties", ".txt", ".out", ".err", "":
		return "text/plain; charset=utf-8"
	case ".xml":
		return "text/xml; charset=utf-8"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		if strings.Contains(name, ".log.") { // rotated logs
			return "text/plain; charset=utf-8"
		}
		return "application/octet-stream"
	}
}

type folderPage struct {
	Path    string
	Parents []crumb
	Entries []folderEntry
	Run     bool
}

type crumb struct{ Name, Href string }

type folderEntry struct {
	Name, Href, Size, Mod string
	Dir                   bool
}

// folder lists a folder of the store.
func (s *Server) folder(w http.ResponseWriter, rel string, f *os.File) {
	entries, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, "cannot list it", http.StatusForbidden)
		return
	}
	page := folderPage{Path: rel}
	hasTest, hasReport := false, false
	href := "/runs/"
	page.Parents = append(page.Parents, crumb{"store", "/runs/"})
	if rel != "." {
		for _, seg := range strings.Split(rel, "/") {
			href += seg + "/"
			page.Parents = append(page.Parents, crumb{seg, href})
		}
	}
	for _, e := range entries {
		fe := folderEntry{Name: e.Name(), Href: e.Name(), Dir: e.IsDir()}
		if e.IsDir() {
			fe.Href += "/"
		}
		if info, err := e.Info(); err == nil {
			fe.Mod = info.ModTime().UTC().Format("2006-01-02 15:04:05")
			if !e.IsDir() {
				fe.Size = humanSize(info.Size())
			}
		}
		hasTest = hasTest || e.Name() == results.TestFile
		hasReport = hasReport || e.Name() == results.ReportFile
		page.Entries = append(page.Entries, fe)
	}
	page.Run = hasTest && !hasReport
	slices.SortFunc(page.Entries, func(a, b folderEntry) int {
		if a.Dir != b.Dir {
			if a.Dir {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Name, b.Name)
	})
	setPageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = folderTemplate.Execute(w, page)
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// RunHref is where a listing row leads: the run's report, or its folder
// when it has none.
func RunHref(e results.RunEntry) string {
	if e.Report {
		return "/runs/" + e.Path + "/" + results.ReportFile
	}
	return "/runs/" + e.Path + "/"
}

func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

//go:embed listing.html.tmpl
var listingText string

//go:embed folder.html.tmpl
var folderText string

var funcs = template.FuncMap{
	"runHref":  RunHref,
	"duration": shortDuration,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"title": func(e results.RunEntry) string {
		s := fmt.Sprintf("%s %s: %s", e.Test, e.Start.UTC().Format("2006-01-02 15:04 UTC"), e.Verdict)
		if a := e.AnomalyText(); a != "" {
			s += " (" + a + ")"
		}
		if e.Why != "" {
			s += " — " + e.Why
		}
		return s
	},
}

var (
	listingTemplate = template.Must(template.New("listing").Funcs(funcs).Parse(listingText))
	folderTemplate  = template.Must(template.New("folder").Funcs(funcs).Parse(folderText))
)
