package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/cluster"
)

// terminalLog is the terminal's part of a run's log (faultline.log gets
// every record at debug, beside it). Records of the client libraries
// (those with a "client" attribute: franz-go's, go-zookeeper's) are not
// shown one by one: they are counted per distinct problem, and when a
// fault window closes (a nemesis start, stop or heal) or the run ends,
// each problem gets one line, e.g.
//
//	kafka client: 412 connection errors to kafka1 while it was killed; see faultline.log
//
// A client record below the terminal's level is only in faultline.log.
// At --log-level debug the terminal gets every record as it comes.
type terminalLog struct {
	next  slog.Handler
	attrs []slog.Attr
	st    *terminalState
}

type terminalState struct {
	base   slog.Handler // to write the last lines with
	mu     sync.Mutex
	window faultWindowNow
	counts map[problem]int
	order  []problem
	nodes  map[string]string // an address (host:port or host) → the node's name
}

// faultWindowNow is the fault in place: its kind ("" for none) and the
// nodes it hit.
type faultWindowNow struct {
	kind  string
	nodes []string
}

// problem is one distinct problem of a client library.
type problem struct {
	client, what, node string
}

func newTerminalLog(next slog.Handler) *terminalLog {
	return &terminalLog{next: next, st: &terminalState{base: next, counts: map[problem]int{}, nodes: map[string]string{}}}
}

// learnNodes lets the lines name nodes by name rather than address.
func (h *terminalLog) learnNodes(nodes []cluster.Node) {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	for _, n := range nodes {
		h.st.nodes[n.ClientAddr()] = n.Name()
		h.st.nodes[n.Addr().String()] = n.Name()
	}
}

// Enabled takes the terminal's levels, and info too: the nemesis's info
// lines mark the fault windows, also when the terminal shows only warnings.
func (h *terminalLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *terminalLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &terminalLog{next: h.next.WithAttrs(as), attrs: append(slices.Clone(h.attrs), as...), st: h.st}
}

func (h *terminalLog) WithGroup(name string) slog.Handler {
	return &terminalLog{next: h.next.WithGroup(name), attrs: h.attrs, st: h.st}
}

func (h *terminalLog) Handle(ctx context.Context, r slog.Record) error {
	if h.next.Enabled(ctx, slog.LevelDebug) {
		return h.next.Handle(ctx, r) // --log-level debug: everything
	}
	attrs := slices.Clone(h.attrs)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	get := func(key string) string {
		for i := len(attrs) - 1; i >= 0; i-- {
			if attrs[i].Key == key {
				return attrs[i].Value.String()
			}
		}
		return ""
	}
	if client := get("client"); client != "" {
		if h.next.Enabled(ctx, r.Level) {
			h.st.count(client, r.Message, get("node"), get("addr"), get("err"))
		}
		return nil
	}
	if f := get("f"); strings.HasPrefix(r.Message, "nemesis") && (strings.HasPrefix(f, "start-") || strings.HasPrefix(f, "stop-") || f == "heal") {
		h.st.flush(ctx, h.next)
		h.st.mu.Lock()
		switch {
		case r.Message != "nemesis": // the fault did not apply: nothing changed
		case strings.HasPrefix(f, "start-"):
			h.st.window = faultWindowNow{kind: strings.TrimPrefix(f, "start-"), nodes: hitNodes(get("did"))}
		default:
			h.st.window = faultWindowNow{}
		}
		h.st.mu.Unlock()
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

// flush writes a line per problem counted since the window began.
func (h *terminalLog) flush() { h.st.flush(context.Background(), h.st.base) }

var addrPattern = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`)

// connectionWords mark a problem of the connection, whatever the library
// calls it.
var connectionWords = []string{"connect", "connection", "dial", "eof", "broken pipe", "reset by peer", "refused", "i/o timeout", "no route"}

func (st *terminalState) count(client, msg, node, addr, errText string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if node == "" {
		if addr == "" {
			addr = addrPattern.FindString(msg)
		}
		node = st.nodes[addr]
		if node == "" {
			if host, _, ok := strings.Cut(addr, ":"); ok {
				node = st.nodes[host]
			}
		}
		if node == "" {
			node = addr
		}
	}
	what := strings.TrimPrefix(msg, client+" client: ")
	low := strings.ToLower(msg + " " + errText)
	for _, w := range connectionWords {
		if strings.Contains(low, w) {
			what = "connection errors"
			break
		}
	}
	if what != "connection errors" {
		what = "× " + what
	}
	p := problem{client: client, what: what, node: node}
	if st.counts[p] == 0 {
		st.order = append(st.order, p)
	}
	st.counts[p]++
}

func (st *terminalState) flush(ctx context.Context, to slog.Handler) {
	st.mu.Lock()
	order, counts, w := st.order, st.counts, st.window
	st.order, st.counts = nil, map[problem]int{}
	st.mu.Unlock()
	for _, p := range order {
		what := p.what
		if counts[p] == 1 && what == "connection errors" {
			what = "connection error"
		}
		line := fmt.Sprintf("%s client: %d %s", p.client, counts[p], what)
		if p.node != "" {
			line += " to " + p.node
		}
		line += " " + w.during(p.node) + "; see faultline.log"
		if to.Enabled(ctx, slog.LevelWarn) {
			_ = to.Handle(ctx, slog.NewRecord(time.Now(), slog.LevelWarn, line, 0))
		}
	}
}

// during says when, e.g. "while it was killed", "during a partition of
// zk3", "with no fault in place".
func (w faultWindowNow) during(node string) string {
	if w.kind == "" {
		return "with no fault in place"
	}
	if node != "" && slices.Contains(w.nodes, node) {
		switch w.kind {
		case "kill":
			return "while it was killed"
		case "pause":
			return "while it was paused"
		case "partition":
			return "while it was cut off by a partition"
		case "packet":
			return "while its packets were disturbed"
		}
		return "during a " + w.kind + " of it"
	}
	if len(w.nodes) > 0 {
		return "during a " + w.kind + " of " + strings.Join(w.nodes, ",")
	}
	return "during a " + w.kind
}

// hitNodes reads the nodes a fault's start hit from what the nemesis
// logged it did: "nodes", or the nodes of a partition's "drops".
func hitNodes(did string) []string {
	var v struct {
		Nodes []string            `json:"nodes"`
		Drops map[string][]string `json:"drops"`
	}
	if json.Unmarshal([]byte(did), &v) != nil {
		return nil
	}
	out := slices.Clone(v.Nodes)
	for n, peers := range v.Drops {
		if len(peers) > 0 && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	// A partition that cut one node off from the rest names that node.
	if len(v.Drops) > 0 {
		var lone []string
		for n, peers := range v.Drops {
			if len(peers) > 1 && len(peers) >= len(v.Drops)-1 {
				lone = append(lone, n)
			}
		}
		if len(lone) == 1 {
			return lone
		}
	}
	slices.Sort(out)
	return out
}
