package logging

import "testing"

// BenchmarkTriggers is the first pass over the strings of a common record.
func BenchmarkTriggers(b *testing.B) {
	inputs := []string{"request served", "/items/{id}", "dial tcp 10.0.0.7:5432: connection refused"}
	for b.Loop() {
		for _, s := range inputs {
			_ = triggers(s)
		}
	}
}

func BenchmarkScrubKnown(b *testing.B) {
	inputs := []string{"request served", "/items/{id}", "dial tcp 10.0.0.7:5432: connection refused"}
	known := []string{"another-registered-secret", "kn0wn-s3cret-value"}
	for b.Loop() {
		for _, s := range inputs {
			_, _ = scrub(s, known)
		}
	}
}

func BenchmarkScrubNoKnown(b *testing.B) {
	inputs := []string{"request served", "/items/{id}", "dial tcp 10.0.0.7:5432: connection refused"}
	for b.Loop() {
		for _, s := range inputs {
			_, _ = scrub(s, nil)
		}
	}
}
