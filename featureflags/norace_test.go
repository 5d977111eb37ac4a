//go:build !race

package featureflags_test

const raceEnabled = false
