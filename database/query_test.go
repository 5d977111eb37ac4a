package database

import "testing"

func TestSummarize(t *testing.T) {
	for _, c := range []struct{ query, text, op, coll string }{
		{"SELECT * FROM items WHERE id = 42", "SELECT * FROM items WHERE id = ?", "SELECT", "items"},
		{"select name from items where name = 'it''s' and x = $1", "select name from items where name = ? and x = $1", "SELECT", "items"},
		{"INSERT INTO items(name, owner) VALUES (?, ?)", "INSERT INTO items(name, owner) VALUES (?, ?)", "INSERT", "items"},
		{"UPDATE items SET n = n + 1.5e3 WHERE id = :id", "UPDATE items SET n = n + ? WHERE id = :id", "UPDATE", "items"},
		{"DELETE FROM \"Items\" WHERE k = E'a\\'b'", "DELETE FROM \"Items\" WHERE k = ?", "DELETE", "Items"},
		{"SELECT a FROM x JOIN y ON x.id = y.id", "SELECT a FROM x JOIN y ON x.id = y.id", "SELECT", ""},
		{"SELECT a FROM x, y", "SELECT a FROM x, y", "SELECT", ""},
		{"-- note 'secret'\nSELECT 1 /* 'secret' */", "SELECT ?", "SELECT", ""},
		{"DO $$ BEGIN PERFORM 'secret'; END $$", "DO ?", "OTHER", ""},
		{"SELECT x'DEADBEEF', 0x1F, t1.c FROM t1", "SELECT ?, ?, t1.c FROM t1", "SELECT", "t1"},
		{"CREATE TABLE IF NOT EXISTS items (id INTEGER)", "CREATE TABLE IF NOT EXISTS items (id INTEGER)", "CREATE", "items"},
		{"  \n\t ", "", "OTHER", ""},
		{"SELECT 'unterminated", "SELECT ?", "SELECT", ""},
	} {
		s := summarize(c.query)
		if s.text != c.text || s.operation != c.op || s.collection != c.coll {
			t.Errorf("summarize(%q) = %q %q %q, want %q %q %q", c.query, s.text, s.operation, s.collection, c.text, c.op, c.coll)
		}
	}
}

// FuzzSummarizeDropsLiterals: whatever the query, a string literal's
// content never survives in the sanitized text.
func FuzzSummarizeDropsLiterals(f *testing.F) {
	f.Add("SELECT * FROM t WHERE a = ", "x")
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		if len(secret) < 4 {
			return
		}
		for _, c := range []byte(secret) {
			if !(c >= 'a' && c <= 'z') {
				return
			}
		}
		s := summarize(prefix + " '" + secret + "'")
		// A prefix may itself open a quote or a comment; the secret must
		// then be swallowed too, never shown.
		if contains(s.text, secret) && !contains(prefix, secret) {
			t.Errorf("summarize(%q) = %q keeps %q", prefix+" '"+secret+"'", s.text, secret)
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestLintFile(t *testing.T) {
	for _, c := range []struct {
		src  string
		want string // "" for accepted
	}{
		{"-- +goose Up\nCREATE TABLE t (id INT);\n-- +goose Down\nDROP TABLE t;\n", ""},
		{"-- +goose Up\nDROP TABLE t;\n", "DROP TABLE"},
		{"-- +goose Up\nDROP TABLE IF EXISTS t;\n", "DROP TABLE"},
		{"-- +goose Up\nALTER TABLE t DROP COLUMN c;\n", "DROP COLUMN"},
		{"-- +goose Up\nALTER TABLE t DROP c;\n", "DROP COLUMN"},
		{"-- +goose Up\nALTER TABLE t ADD COLUMN d INT, DROP COLUMN IF EXISTS c;\n", "DROP COLUMN"},
		{"-- +goose Up\nALTER TABLE t RENAME COLUMN a TO b;\n", "RENAME COLUMN"},
		{"-- +goose Up\nALTER TABLE t RENAME a TO b;\n", "RENAME COLUMN"},
		{"-- +goose Up\nALTER TABLE t RENAME TO u;\n", "RENAME TABLE"},
		{"-- +goose Up\nALTER TABLE t ALTER COLUMN c DROP NOT NULL;\n", ""},
		{"-- +goose Up\nALTER TABLE t ALTER c DROP DEFAULT;\n", ""},
		{"-- +goose Up\nALTER TABLE t DROP CONSTRAINT k;\n", ""},
		{"-- +goose Up\nALTER TABLE t RENAME CONSTRAINT k TO l;\n", ""},
		{"-- +goose Up\nINSERT INTO notes (body) VALUES ('DROP TABLE users');\n", ""},
		{"-- +goose Up\n-- DROP TABLE t; is only a comment\nSELECT 1;\n", ""},
		{"-- +operable contract: t.c unread since v3, replaced by d in 00007\n-- +goose Up\nALTER TABLE t DROP COLUMN c;\n", ""},
		{"-- +operable contract\n-- +goose Up\nALTER TABLE t DROP COLUMN c;\n", "needs a reason"},
		{"-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS void AS $$ BEGIN DROP TABLE x; END $$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n", ""},
		{"-- +goose Up\nTRUNCATE items;\n", "TRUNCATE"},
		{"-- +goose Up\nTRUNCATE TABLE ONLY items RESTART IDENTITY CASCADE;\n", "TRUNCATE"},
		{"-- +goose Up\ntruncate table a, b;\n", "TRUNCATE"},
		{"-- +goose Up\nALTER TABLE t ALTER COLUMN c TYPE BIGINT;\n", "ALTER COLUMN TYPE"},
		{"-- +goose Up\nALTER TABLE t ALTER c TYPE text USING c::text;\n", "ALTER COLUMN TYPE"},
		{"-- +goose Up\nALTER TABLE t ALTER COLUMN c SET DATA TYPE varchar(20);\n", "ALTER COLUMN TYPE"},
		{"-- +goose Up\nALTER TABLE t ADD COLUMN d INT, ALTER COLUMN c TYPE numeric(10,2);\n", "ALTER COLUMN TYPE"},
		{"-- +goose Up\nALTER TABLE t ADD COLUMN type TEXT;\n", ""},
		{"-- +goose Up\nALTER TABLE t ALTER COLUMN type SET DEFAULT 'x';\n", ""},
		{"-- +goose Up\nALTER TABLE t ALTER COLUMN c SET NOT NULL;\n", ""},
		{"-- +goose Up\nCREATE TYPE mood AS ENUM ('a', 'b');\nALTER TYPE mood ADD VALUE 'c';\n", ""},
		{"-- +goose Up\nINSERT INTO notes (body) VALUES ('TRUNCATE users');\n", ""},
		{"-- +goose Up\nSELECT 1;\n-- +goose Down\nTRUNCATE t;\n", ""},
		{"-- +operable contract: t emptied by design, its rows moved to u in 00009\n-- +goose Up\nTRUNCATE t;\n", ""},
		{"-- +operable contract: c widened in 00010 (c2), readers moved in v4\n-- +goose Up\nALTER TABLE t ALTER COLUMN c TYPE BIGINT;\n", ""},
		{"-- +operable contract\n-- +goose Up\nTRUNCATE t;\n", "needs a reason"},
	} {
		err := lintFile(c.src)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("lintFile(%q) = %v, want accepted", c.src, err)
		case c.want != "" && (err == nil || !contains(err.Error(), c.want)):
			t.Errorf("lintFile(%q) = %v, want an error about %s", c.src, err, c.want)
		}
	}
}
