//go:build !race

package database_test

const raceEnabled = false
