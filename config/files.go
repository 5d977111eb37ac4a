package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/operable-go/operable/internal/boundedread"
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
	// origin is the layer as Sources says it, "file:config/base.yaml:12:3";
	// pos is the same without "file:", sharing its bytes.
	origin, pos string
	key         int // the index of its key in parsedFile.keys
}

// fileKey is a key as written, with its position, for unknown-key reports.
type fileKey struct {
	name      string // the variable it binds to, without the prefix: DB_MAX_OPEN_CONNS
	written   string // the path as written, nested keys joined by ".": db.max-open-conns
	line, col int    // where it is written, for problems (see parsedFile.pos)
	parent    int    // the index of the mapping's key in parsedFile.keys; -1 at the top level
}

// duplicate is a variable a file sets twice, by the indexes of its keys.
type duplicate struct{ first, second int }

// parsedFile is one file's values by variable name (no prefix).
type parsedFile struct {
	path   string
	values map[string]fileValue
	keys   []fileKey
	// containers are the keys that held a mapping, which are accepted as
	// groups of nested keys.
	containers map[string]bool
	// dups are the variables set twice, in two spellings or the same one.
	dups []duplicate
}

// readFile reads and parses a YAML or JSON file of at most limit bytes
// (reading no more than limit+1). A missing file is (nil, nil, false); one
// that is there but cannot be read (a dangling symbolic link, a directory,
// no permission, over the limit) is a problem naming the file and why, and
// present. Every problem names the file and, where known, line and column;
// none repeats a value.
func readFile(path string, limit int64) (f *parsedFile, problems []Problem, present bool) {
	data, err := boundedread.ReadFile(path, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false
	}
	if err != nil {
		// The path is the Source already; the cause alone is the reason.
		reason := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		var tl *boundedread.TooLargeError
		if errors.As(err, &tl) {
			reason += " (Options.MaxFileSize)"
		}
		return nil, []Problem{{Source: path, Reason: "cannot read: " + reason}}, true
	}
	f, problems = parseFile(path, data)
	return f, problems, true
}

// yamlError splits yaml.v3's error texts, "yaml: line 3: mapping values
// are not allowed in this context", into the line and the reason.
var yamlError = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// quoted matches the bits of input a parser's message may quote in single
// quotes: yaml.v3 quotes anchor names, encoding/json the offending
// character (escaped, as in a Go rune literal).
var quoted = regexp.MustCompile(`'(?:\\.|[^'\\])*'`)

// syntaxReason is a parser's reason with whatever it quotes from the input
// left out: the input may be a secret.
func syntaxReason(kind, reason string) string {
	reason = strings.TrimSpace(strings.Join(strings.Fields(quoted.ReplaceAllString(reason, "")), " "))
	if reason == "" {
		return "not valid " + kind
	}
	return "not valid " + kind + ": " + reason
}

// parseFile parses data, YAML or JSON (by the name's extension), into
// variables. Keys bind as the variables do, relaxed: a nested mapping joins
// its keys with "_", a key is upper-cased and "-" is read as "_", so
// "db: {max-open-conns: 5}", "db_max_open_conns: 5" and
// "DB_MAX_OPEN_CONNS: 5" all set DB_MAX_OPEN_CONNS. Sequences become
// comma-separated lists.
func parseFile(path string, data []byte) (*parsedFile, []Problem) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		if err := json.Unmarshal(data, new(any)); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				// Offset counts the bytes read, the bad one included.
				line, col := lineCol(data, int(se.Offset)-1)
				return nil, []Problem{{Source: fmt.Sprintf("%s:%d:%d", path, line, col), Reason: syntaxReason("JSON", se.Error())}}
			}
			return nil, []Problem{{Source: path, Reason: "not valid JSON"}}
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3's errors say the line but not the column.
		src, reason := path, ""
		if m := yamlError.FindStringSubmatch(err.Error()); m != nil {
			if m[1] != "" {
				src += ":" + m[1]
			}
			reason = m[2]
		}
		return nil, []Problem{{Source: src, Reason: syntaxReason("YAML", reason)}}
	}
	if a := boundedread.CheckAliases(&doc); a != nil {
		return nil, []Problem{{Source: fmt.Sprintf("%s:%d:%d", path, a.Line, a.Column),
			Reason: fmt.Sprintf("too much aliasing: the aliases up to here stand for more than %d values (an alias bomb?)", boundedread.MaxAliasNodes)}}
	}
	f := &parsedFile{path: path}
	if len(doc.Content) == 0 {
		f.values = map[string]fileValue{}
		return f, nil // an empty file
	}
	root := doc.Content[0]
	f.values = make(map[string]fileValue, len(root.Content)/2)
	f.keys = make([]fileKey, 0, len(root.Content)/2)
	if root.Kind != yaml.MappingNode {
		return nil, []Problem{{Source: f.at(root), Reason: "the top level must be a mapping of names to values"}}
	}
	var problems []Problem
	f.walk(root, "", "", -1, &problems)
	return f, problems
}

func (f *parsedFile) at(n *yaml.Node) string {
	return f.pos(n.Line, n.Column)
}

// pos is "path:line:column".
func (f *parsedFile) pos(line, col int) string {
	var buf [128]byte
	return string(f.appendPos(buf[:0], line, col))
}

func (f *parsedFile) appendPos(b []byte, line, col int) []byte {
	b = append(b, f.path...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(line), 10)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(col), 10)
}

// keyPos is where k is written: "path:line:column".
func (f *parsedFile) keyPos(k fileKey) string { return f.pos(k.line, k.col) }

// bindName is the variable a key binds to: upper case, "-" read as "_".
// A key already in that form is returned as it is, with no allocation.
func bindName(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// walk flattens a mapping into f.values. prefix is the variable prefix of
// the mapping's keys ("DB_"), written its path as written ("db."), parent
// the index of its key.
func (f *parsedFile) walk(m *yaml.Node, prefix, written string, parent int, problems *[]Problem) {
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		for v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			*problems = append(*problems, Problem{Source: f.at(k), Reason: "a key must be a plain name"})
			continue
		}
		name := prefix + bindName(k.Value)
		if seen[k.Value] {
			*problems = append(*problems, Problem{Source: f.at(k), Var: name, Reason: "key written twice in the same mapping"})
			continue
		}
		seen[k.Value] = true
		key := fileKey{name: name, written: written + k.Value, line: k.Line, col: k.Column, parent: parent}
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				continue // "KEY:" with no value sets nothing
			}
			f.set(key, v.Value, v)
		case yaml.MappingNode:
			if f.containers == nil {
				f.containers = map[string]bool{}
			}
			f.containers[name] = true
			f.keys = append(f.keys, key)
			f.walk(v, name+"_", key.written+".", len(f.keys)-1, problems)
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
				f.set(key, strings.Join(items, ","), v)
			}
		default:
			*problems = append(*problems, Problem{Source: f.at(v), Var: name, Reason: "unsupported value"})
		}
	}
}

// set records a value; a variable already set in the file is a duplicate,
// the later value kept.
func (f *parsedFile) set(key fileKey, value string, v *yaml.Node) {
	f.keys = append(f.keys, key)
	i := len(f.keys) - 1
	if prev, ok := f.values[key.name]; ok {
		f.dups = append(f.dups, duplicate{first: prev.key, second: i})
	}
	// One string for the origin and the position: "file:" then the position.
	var buf [128]byte
	origin := string(f.appendPos(append(buf[:0], "file:"...), v.Line, v.Column))
	f.values[key.name] = fileValue{value: value, origin: origin, pos: origin[len("file:"):], key: i}
}

// mapValue renders the mapping held under a map-typed variable in
// caarlos0/env's "k1:v1,k2:v2" form, from the flattened values. The map's
// own keys keep their spelling: "labels: {Team: core}" is Team.
func (f *parsedFile) mapValue(name string) (fileValue, bool) {
	if !f.containers[name] {
		return fileValue{}, false
	}
	var parts []string
	var origin, pos string
	for i, k := range f.keys {
		sub, ok := strings.CutPrefix(k.name, name+"_")
		if !ok {
			continue
		}
		v, ok := f.values[k.name]
		if !ok || v.key != i {
			continue
		}
		// Under the map's mapping, the key as written; else as bound.
		for a := k.parent; a >= 0; a = f.keys[a].parent {
			if f.keys[a].name == name {
				sub = strings.ReplaceAll(k.written[len(f.keys[a].written)+1:], ".", "_")
				break
			}
		}
		parts = append(parts, sub+":"+v.value)
		if pos == "" {
			origin, pos = v.origin, v.pos
		}
	}
	return fileValue{value: strings.Join(parts, ","), origin: origin, pos: pos}, true
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - bytes.LastIndexByte(before, '\n')
	return line, col
}
