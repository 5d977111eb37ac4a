//go:build race

package servicetest

// raceEnabled makes Build compile the service with the race detector when the
// tests themselves run with it, so that a data race in the real process
// fails the test (the process exits with code 66).
const raceEnabled = true
