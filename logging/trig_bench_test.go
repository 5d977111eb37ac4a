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
	var kv KnownValues
	kv.Add("another-registered-secret")
	kv.Add("kn0wn-s3cret-value")
	known := kv.snapshot()
	for b.Loop() {
		for _, s := range inputs {
			_, _ = defaultRedactor.scrub(s, known)
		}
	}
}

func BenchmarkScrubNoKnown(b *testing.B) {
	inputs := []string{"request served", "/items/{id}", "dial tcp 10.0.0.7:5432: connection refused"}
	for b.Loop() {
		for _, s := range inputs {
			_, _ = defaultRedactor.scrub(s, nil)
		}
	}
}

// BenchmarkScrubParams is a logged URL with a sensitive parameter and the
// text of an error quoting a presigned URL.
func BenchmarkScrubParams(b *testing.B) {
	inputs := []string{"/items?api_key=abc123&page=2", "put https://b/o?X-Amz-Expires=900&X-Amz-Signature=5d672d79c15b: refused"}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range inputs {
			_, _ = defaultRedactor.scrub(s, nil)
		}
	}
}

// BenchmarkSensitive is the key check of every attribute of a common
// record.
func BenchmarkSensitive(b *testing.B) {
	r := newRedactor(RedactOptions{})
	keys := []string{"method", "route", "status", "duration", "bytes", "error", "service", "version", "env", "request_id"}
	for b.Loop() {
		for _, k := range keys {
			_ = r.sensitive(k)
		}
	}
}
