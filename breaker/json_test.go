package breaker_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/operable-go/operable/breaker"
)

// TestInfoJSON: Info's JSON, as /debug/breakers serves it, writes the
// settings' durations as strings, and reads them back, also from the
// nanoseconds written before.
func TestInfoJSON(t *testing.T) {
	cases := []struct {
		name string
		info breaker.Info
		want string
	}{
		{"defaults", breaker.Info{Name: "db", State: breaker.Closed, Mode: breaker.Auto, Settings: breaker.Settings{
			Window: 60 * time.Second, MinCalls: 20, FailureRatio: 0.5, OpenTimeout: 30 * time.Second, HalfOpenCalls: 3, CallTimeout: 10 * time.Second, MaxConcurrent: 100}},
			`{"name":"db","state":"closed","mode":"auto","counts":{"calls":0,"successes":0,"failures":0,"neutral":0},"settings":{"Window":"1m0s","MinCalls":20,"FailureRatio":0.5,"OpenTimeout":"30s","HalfOpenCalls":3,"CallTimeout":"10s","MaxConcurrent":100}}`},
		{"odd durations", breaker.Info{Name: "x", State: breaker.Open, Mode: breaker.Auto, Counts: breaker.Counts{Calls: 4, Failures: 3, Successes: 1},
			Settings: breaker.Settings{Window: 1500 * time.Millisecond, OpenTimeout: 25 * time.Second, CallTimeout: -1, MaxConcurrent: -1}},
			`{"name":"x","state":"open","mode":"auto","counts":{"calls":4,"successes":1,"failures":3,"neutral":0},"settings":{"Window":"1.5s","MinCalls":0,"FailureRatio":0,"OpenTimeout":"25s","HalfOpenCalls":0,"CallTimeout":"-1ns","MaxConcurrent":-1}}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.info)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(b) != c.want {
			t.Errorf("%s: JSON\n%s\nwant\n%s", c.name, b, c.want)
		}
		var back breaker.Info
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: reading back: %v", c.name, err)
		}
		if back != c.info {
			t.Errorf("%s: read back %+v, want %+v", c.name, back, c.info)
		}
	}
	var s breaker.Settings
	if err := json.Unmarshal([]byte(`{"Window":60000000000,"OpenTimeout":"30s","MinCalls":5}`), &s); err != nil {
		t.Fatal(err)
	}
	if want := (breaker.Settings{Window: time.Minute, OpenTimeout: 30 * time.Second, MinCalls: 5}); s != want {
		t.Errorf("read %+v, want %+v", s, want)
	}
	if err := json.Unmarshal([]byte(`{"Window":"soon"}`), &s); err == nil {
		t.Error("a bad duration was read without an error")
	}
}
