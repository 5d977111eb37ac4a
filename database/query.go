package database

import (
	"strings"
	"unicode/utf8"
)

// maxQueryText bounds the sanitized query text put on a span.
const maxQueryText = 2048

// summary is what the instrumentation derives from one query's text, once:
// the sanitized text (literals replaced by "?", comments dropped, spaces
// collapsed), the operation (the statement's first keyword, from a fixed
// list) and the collection (the one table it names, when it names one
// plainly).
type summary struct {
	text       string
	operation  string
	collection string
}

// operations are the statement keywords reported as db.operation.name;
// any other first word is reported as "OTHER", so that the attribute's
// values stay a short, fixed list.
var operations = map[string]string{
	"SELECT": "SELECT", "INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE",
	"WITH": "WITH", "CREATE": "CREATE", "ALTER": "ALTER", "DROP": "DROP",
	"BEGIN": "BEGIN", "COMMIT": "COMMIT", "ROLLBACK": "ROLLBACK", "SAVEPOINT": "SAVEPOINT",
	"RELEASE": "RELEASE", "REPLACE": "REPLACE", "UPSERT": "UPSERT", "MERGE": "MERGE",
	"TRUNCATE": "TRUNCATE", "VALUES": "VALUES", "EXPLAIN": "EXPLAIN", "PRAGMA": "PRAGMA",
	"SET": "SET", "SHOW": "SHOW", "LOCK": "LOCK", "COPY": "COPY", "CALL": "CALL",
	"VACUUM": "VACUUM", "ANALYZE": "ANALYZE",
}

// summarize sanitizes query: string literals ('...', E'...', $$...$$,
// $tag$...$tag$), numbers, and hexadecimal or blob literals become "?";
// placeholders ($1, ?, :name, @name) are kept, since they carry no value;
// comments are dropped and runs of spaces collapse into one. Parameters
// never reach it: they are not part of the text.
func summarize(query string) summary {
	text := sanitize(query, maxQueryText)
	op, coll := classify(text)
	return summary{text: text, operation: op, collection: coll}
}

// sanitize returns query's text as summarize describes, cut at limit
// bytes.
func sanitize(query string, limit int) string {
	var b strings.Builder
	b.Grow(min(len(query), limit))
	space := false
	emit := func(s string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(s)
	}
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			space = true
			i++
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			for i < len(query) && query[i] != '\n' {
				i++
			}
			space = true
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				i = len(query)
			} else {
				i += end + 4
			}
			space = true
		case c == '\'':
			i = skipQuoted(query, i, '\'', false)
			emit("?")
		case (c == 'E' || c == 'e' || c == 'X' || c == 'x' || c == 'B' || c == 'b' || c == 'N' || c == 'n') &&
			i+1 < len(query) && query[i+1] == '\'' && !identByte(prev(query, i)):
			i = skipQuoted(query, i+1, '\'', c == 'E' || c == 'e')
			emit("?")
		case c == '"' || c == '`':
			j := skipQuoted(query, i, c, false)
			emit(query[i:j])
			i = j
		case c == '$':
			if j, ok := dollarQuote(query, i); ok {
				i = j
				emit("?")
				break
			}
			j := i + 1
			for j < len(query) && isDigit(query[j]) {
				j++
			}
			emit(query[i:j]) // $1: a placeholder
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(query) && isDigit(query[i+1])):
			j := i
			for j < len(query) && (identByte(query[j]) || query[j] == '.' ||
				((query[j] == '+' || query[j] == '-') && j > i && (query[j-1] == 'e' || query[j-1] == 'E'))) {
				j++
			}
			emit("?")
			i = j
		case identByte(c):
			j := i
			for j < len(query) && (identByte(query[j]) || query[j] >= utf8.RuneSelf) {
				j++
			}
			emit(query[i:j])
			i = j
		default:
			if c == ',' || c == ')' || c == ';' {
				space = false // "a, b" stays "a, b": the space comes after
			}
			emit(query[i : i+1])
			if c == '(' {
				space = false
			}
			if c == ',' {
				space = true
			}
			i++
		}
		if b.Len() >= limit {
			break
		}
	}
	text := b.String()
	if len(text) > limit {
		text = text[:limit]
	}
	return text
}

// classify finds the operation and the collection of a sanitized query:
// SELECT … FROM t, INSERT INTO t, UPDATE t, DELETE FROM t, and CREATE/ALTER/
// DROP TABLE t. A query that names its table otherwise, or more than one
// table in a FROM list or a join, has no collection.
func classify(text string) (op, coll string) {
	words := strings.Fields(text)
	if len(words) == 0 {
		return "OTHER", ""
	}
	first := strings.ToUpper(words[0])
	op, ok := operations[first]
	if !ok {
		return "OTHER", ""
	}
	after := func(kw string, from int) string {
		for k := from; k+1 < len(words); k++ {
			if strings.EqualFold(words[k], kw) {
				return tableName(words, k+1)
			}
		}
		return ""
	}
	switch op {
	case "SELECT":
		return op, after("FROM", 1)
	case "INSERT", "REPLACE", "UPSERT":
		return op, after("INTO", 1)
	case "DELETE":
		return op, after("FROM", 1)
	case "UPDATE":
		if len(words) > 1 {
			k := 1
			if strings.EqualFold(words[k], "ONLY") && len(words) > 2 {
				k++
			}
			return op, tableName(words, k)
		}
	case "CREATE", "ALTER", "DROP", "TRUNCATE":
		return op, after("TABLE", 1)
	}
	return op, ""
}

// tableName returns words[k] when it is a plain table name and the query
// names no other table right after it (a join or a FROM list).
func tableName(words []string, k int) string {
	w := words[k]
	for _, kw := range [...]string{"IF", "NOT", "EXISTS", "ONLY"} {
		if strings.EqualFold(w, kw) {
			if k+1 >= len(words) {
				return ""
			}
			return tableName(words, k+1)
		}
	}
	w = strings.TrimRight(w, ";")
	if i := strings.IndexByte(w, '('); i > 0 { // INSERT INTO t(a, b)
		w = w[:i]
	} else if strings.HasSuffix(w, ",") || w == "" || w[0] == '(' || w == "?" {
		return ""
	}
	for _, c := range []byte(w) {
		if !identByte(c) && c != '.' && c != '"' && c != '`' {
			return ""
		}
	}
	for j := k + 1; j < len(words) && j <= k+3; j++ {
		if words[j] == "," || strings.HasPrefix(words[j], ",") || strings.EqualFold(words[j], "JOIN") {
			return ""
		}
	}
	return strings.Trim(w, "\"`")
}

// skipQuoted returns the index after the quoted string or identifier that
// starts at q[i]; a doubled quote stands for itself, and so does a
// backslash but in PostgreSQL's E” strings, where it escapes.
func skipQuoted(q string, i int, quote byte, backslash bool) int {
	for j := i + 1; j < len(q); j++ {
		if backslash && q[j] == '\\' && j+1 < len(q) {
			j++
			continue
		}
		if q[j] == quote {
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

// dollarQuote skips a PostgreSQL dollar-quoted string ($$…$$, $tag$…$tag$)
// starting at i.
func dollarQuote(q string, i int) (int, bool) {
	j := i + 1
	for j < len(q) && (identByte(q[j]) && !isDigit(q[i+1])) {
		j++
	}
	if j >= len(q) || q[j] != '$' {
		return 0, false
	}
	tag := q[i : j+1]
	end := strings.Index(q[j+1:], tag)
	if end < 0 {
		return len(q), true
	}
	return j + 1 + end + len(tag), true
}

func prev(q string, i int) byte {
	if i == 0 {
		return ' '
	}
	return q[i-1]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func identByte(c byte) bool {
	return c == '_' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
