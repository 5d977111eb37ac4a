//go:build !unix

package database

import "os"

// tryFlock is a lock within the process only, where there is no flock.
func tryFlock(*os.File) (bool, error) { return true, nil }

func unflock(*os.File) {}
