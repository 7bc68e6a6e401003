package nemesis

import (
	"fmt"
	"slices"
	"strings"
)

// grudgeSyntax explains the grudge syntax in errors.
const grudgeSyntax = `write components of node names separated by "|", names within a component by ",", e.g. "zk1,kafka1|zk2,zk3,kafka2,kafka3"`

// ParseGrudge reads an explicit partition such as
// "zk1,kafka1|zk2,zk3,kafka2,kafka3": components separated by "|", node
// names within one by ",". Each node named sees only its own component.
// As in Jepsen's complete-grudge, a known node named in no component is left
// alone: it drops nothing and nobody drops it. known lists the valid names.
func ParseGrudge(spec string, known []string) (Grudge, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("grudge is empty: %s", grudgeSyntax)
	}
	parts := strings.Split(spec, "|")
	if len(parts) < 2 {
		return nil, fmt.Errorf("grudge %q has one component, so it cuts nothing: %s", spec, grudgeSyntax)
	}
	var components [][]string
	var seen []string
	for i, part := range parts {
		var component []string
		for _, raw := range strings.Split(part, ",") {
			name := strings.TrimSpace(raw)
			switch {
			case name == "":
				return nil, fmt.Errorf("grudge %q: component %d has an empty node name: %s", spec, i+1, grudgeSyntax)
			case !slices.Contains(known, name):
				return nil, fmt.Errorf("grudge %q names unknown node %q: use one of %s; %s", spec, name, strings.Join(known, ", "), grudgeSyntax)
			case slices.Contains(seen, name):
				return nil, fmt.Errorf("grudge %q names %s twice: put each node in one component", spec, name)
			}
			seen = append(seen, name)
			component = append(component, name)
		}
		components = append(components, component)
	}
	return completeGrudge(components), nil
}
