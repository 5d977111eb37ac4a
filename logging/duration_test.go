package logging

import (
	"math"
	"testing"
	"time"
)

// TestAppendDurationIsString: appendDuration writes what Duration.String
// returns, at every unit and at the extremes.
func TestAppendDurationIsString(t *testing.T) {
	ds := []time.Duration{0, 1, -1, 999, 1000, 1001, 1500 * time.Microsecond, time.Millisecond, 999999999,
		time.Second, 25 * time.Second, -25 * time.Second, 90 * time.Minute, 15 * time.Minute, 1001 * time.Hour,
		time.Hour + time.Nanosecond, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for d := time.Duration(1); d > 0 && d < math.MaxInt64/7; d = d*7 + 3 {
		ds = append(ds, d, -d)
	}
	for _, d := range ds {
		if got, want := string(appendDuration([]byte("x"), d)), "x"+d.String(); got != want {
			t.Errorf("appendDuration(%d) = %q, want %q", int64(d), got, want)
		}
	}
}
