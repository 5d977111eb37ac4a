//go:build race

package operabletest

// raceEnabled makes Build compile the service with the race detector when the
// tests themselves run with it, so that a data race in the real process
// fails the test.
const raceEnabled = true
