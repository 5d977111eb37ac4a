//go:build race

package featureflags_test

const raceEnabled = true
