// Package configtest helps service authors test their configuration: a
// temporary config directory, plain or laid out as Kubernetes mounts a
// ConfigMap (whose updates swap a ..data symlink), and the Options that
// read it with a given environment instead of the process's.
package configtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/operable-go/operable/config"
)

// Options returns config.Options that read the files of dir and the
// variables of env only.
func Options(dir string, env map[string]string) config.Options {
	if env == nil {
		env = map[string]string{}
	}
	return config.Options{Dir: dir, Environ: env}
}

// WriteDir writes name → content into a new temporary directory, removed
// when the test ends, and returns its path.
func WriteDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ConfigMap is a directory laid out as the kubelet mounts a ConfigMap:
// each file is a symlink through ..data into a versioned directory, and an
// update writes a new versioned directory and swaps ..data to it in one
// rename, so that readers see the old files or the new ones, never a mix.
type ConfigMap struct {
	// Path is the mounted directory.
	Path    string
	t       testing.TB
	version int
	current string
}

// NewConfigMap mounts files in a new temporary directory.
func NewConfigMap(t testing.TB, files map[string]string) *ConfigMap {
	t.Helper()
	m := &ConfigMap{Path: t.TempDir(), t: t}
	m.Update(files)
	return m
}

// Update replaces the files as the kubelet does: a new versioned
// directory, ..data swapped to it by rename, the old one removed.
func (m *ConfigMap) Update(files map[string]string) {
	m.t.Helper()
	m.version++
	version := fmt.Sprintf("..2026_01_01_00_00_00.%09d", m.version)
	vdir := filepath.Join(m.Path, version)
	if err := os.Mkdir(vdir, 0o755); err != nil {
		m.t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(vdir, name), []byte(content), 0o644); err != nil {
			m.t.Fatal(err)
		}
	}
	tmp := filepath.Join(m.Path, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.Path, "..data")); err != nil {
		m.t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(m.Path, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				m.t.Fatal(err)
			}
		}
	}
	if m.current != "" {
		if err := os.RemoveAll(filepath.Join(m.Path, m.current)); err != nil {
			m.t.Fatal(err)
		}
	}
	m.current = version
}
