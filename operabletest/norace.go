//go:build !race

package operabletest

const raceEnabled = false
