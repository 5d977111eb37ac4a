package telemetry

import (
	"net/http"
	"slices"
	"testing"
)

// TestCanonicalCarrierFindsWhatHeaderGetFinds holds the carrier's map
// indexing to net/http's own lookup, for the propagators' keys and others.
func TestCanonicalCarrierFindsWhatHeaderGetFinds(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"Traceparent", "tracestate", "BAGGAGE", "x-b3-traceid"} {
		h.Add(k, "v-"+k)
		h.Add(k, "w-"+k)
	}
	c := canonicalCarrier(h)
	for _, key := range []string{"traceparent", "tracestate", "baggage", "x-b3-traceid", "X-B3-TraceId", "absent"} {
		if got, want := c.Get(key), h.Get(key); got != want {
			t.Errorf("Get(%q) = %q, want %q", key, got, want)
		}
		if got, want := c.Values(key), h.Values(key); !slices.Equal(got, want) {
			t.Errorf("Values(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestMethodIndexFollowsServerMethods: each method methodOf returns counts
// in its own slot, the one whose attributes name it.
func TestMethodIndexFollowsServerMethods(t *testing.T) {
	for i, m := range serverMethods {
		if got := methodIndex(methodOf(m)); got != i {
			t.Errorf("methodIndex(%q) = %d, want %d", m, got, i)
		}
	}
	if got := methodIndex(methodOf("BREW")); serverMethods[got] != "_OTHER" {
		t.Errorf("an unknown method counts as %q, want _OTHER", serverMethods[got])
	}
}
