package database_test

import (
	"io/fs"
	"testing/fstest"
)

// fstestMap builds an fs.FS of migration files from their texts.
type fstestMap map[string]string

func (m fstestMap) fs() fs.FS {
	f := fstest.MapFS{}
	for name, text := range m {
		f[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return f
}
