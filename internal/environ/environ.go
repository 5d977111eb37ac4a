// Package environ reads the environment variables a service is configured
// from: a map given for tests, or the process environment.
package environ

import (
	"os"
	"strings"
)

// Or returns given when it is not nil, else the process environment as a map.
func Or(given map[string]string) map[string]string {
	if given != nil {
		return given
	}
	kvs := os.Environ()
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
