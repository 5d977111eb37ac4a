package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultDir is where the configuration files are looked for.
const DefaultDir = "config"

// defaultFiles are the files read from the directory by default.
var defaultFiles = []string{"base.yaml", "base.json", "{env}.yaml", "{env}.json"}

// DefaultFiles returns the files read from the directory when
// Options.Files is nil, in order, later wins; "{env}" stands for the
// environment: base.yaml, base.json, {env}.yaml, {env}.json.
func DefaultFiles() []string { return slices.Clone(defaultFiles) }

// fileValue is one value read from a file, with where it was written.
type fileValue struct {
	value string
	pos   string // "config/base.yaml:12:3"
}

// fileKey is a key as written, with its position, for unknown-key reports.
type fileKey struct {
	name string
	pos  string
}

// parsedFile is one file's values by variable name (no prefix).
type parsedFile struct {
	path   string
	values map[string]fileValue
	keys   []fileKey
	// containers are the keys that held a mapping, which are accepted as
	// groups of nested keys.
	containers map[string]bool
}

// readFile reads and parses a YAML or JSON file. A missing file is (nil,
// nil). Every problem names the file and, where known, line and column;
// none repeats a value.
func readFile(path string) (*parsedFile, []Problem) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		// The path is the Source already; the cause alone is the reason.
		reason := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		return nil, []Problem{{Source: path, Reason: "cannot read: " + reason}}
	}
	return parseFile(path, data)
}

// yamlLine finds the line number in yaml.v3's error texts.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseFile parses data, YAML or JSON (by the name's extension), into
// variables: nested mappings join their keys with "_" (DB: {URL: x} sets
// DB_URL), sequences become comma-separated lists.
func parseFile(path string, data []byte) (*parsedFile, []Problem) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		if err := json.Unmarshal(data, new(any)); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				// Offset counts the bytes read, the bad one included.
				line, col := lineCol(data, int(se.Offset)-1)
				return nil, []Problem{{Source: fmt.Sprintf("%s:%d:%d", path, line, col), Reason: "not valid JSON"}}
			}
			return nil, []Problem{{Source: path, Reason: "not valid JSON"}}
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3's syntax errors say the line, and can quote a bit of the
		// text: only the line is kept.
		src := path
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			src += ":" + m[1]
		}
		return nil, []Problem{{Source: src, Reason: "not valid YAML"}}
	}
	f := &parsedFile{path: path, values: map[string]fileValue{}, containers: map[string]bool{}}
	if len(doc.Content) == 0 {
		return f, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, []Problem{{Source: f.at(root), Reason: "the top level must be a mapping of names to values"}}
	}
	var problems []Problem
	f.walk(root, "", &problems)
	return f, problems
}

func (f *parsedFile) at(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", f.path, n.Line, n.Column)
}

// walk flattens a mapping into f.values.
func (f *parsedFile) walk(m *yaml.Node, prefix string, problems *[]Problem) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		for v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			*problems = append(*problems, Problem{Source: f.at(k), Reason: "a key must be a plain name"})
			continue
		}
		name := prefix + k.Value
		if seen[k.Value] {
			*problems = append(*problems, Problem{Source: f.at(k), Var: name, Reason: "key written twice in the same mapping"})
			continue
		}
		seen[k.Value] = true
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				continue // "KEY:" with no value sets nothing
			}
			f.set(name, v.Value, k, v)
		case yaml.MappingNode:
			f.containers[name] = true
			f.keys = append(f.keys, fileKey{name: name, pos: f.at(k)})
			f.walk(v, name+"_", problems)
		case yaml.SequenceNode:
			items := make([]string, 0, len(v.Content))
			ok := true
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode {
					*problems = append(*problems, Problem{Source: f.at(it), Var: name, Reason: "a list may hold only plain values"})
					ok = false
					break
				}
				items = append(items, it.Value)
			}
			if ok {
				f.set(name, strings.Join(items, ","), k, v)
			}
		default:
			*problems = append(*problems, Problem{Source: f.at(v), Var: name, Reason: "unsupported value"})
		}
	}
}

func (f *parsedFile) set(name, value string, k, v *yaml.Node) {
	f.values[name] = fileValue{value: value, pos: f.at(v)}
	f.keys = append(f.keys, fileKey{name: name, pos: f.at(k)})
}

// mapValue renders the mapping held under a map-typed variable in
// caarlos0/env's "k1:v1,k2:v2" form, from the flattened values.
func (f *parsedFile) mapValue(name string) (fileValue, bool) {
	if !f.containers[name] {
		return fileValue{}, false
	}
	var parts []string
	var pos string
	for _, k := range f.keys {
		if sub, ok := strings.CutPrefix(k.name, name+"_"); ok {
			if v, ok := f.values[k.name]; ok {
				parts = append(parts, sub+":"+v.value)
				if pos == "" {
					pos = v.pos
				}
			}
		}
	}
	return fileValue{value: strings.Join(parts, ","), pos: pos}, true
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - bytes.LastIndexByte(before, '\n')
	return line, col
}
