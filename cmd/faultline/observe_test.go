package main

import (
	"testing"

	"github.com/spf13/pflag"
)

// TestNoObserverFlag: the leadership observer is on unless --no-observer.
func TestNoObserverFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"--no-observer"}, false}} {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		tf := bindTestFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := tf.toSpec(fs); err != nil {
			t.Fatal(err)
		}
		if tf.spec.Observe == nil || *tf.spec.Observe != tc.want {
			t.Errorf("%v: observe %v, want %v", tc.args, tf.spec.Observe, tc.want)
		}
	}
}
