package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Example shows a job's path through the spool, as the worker takes it: a
// producer's file renamed into incoming/, the claim into work/, the result
// committed into done/, then the claim dropped.
func Example() {
	root, err := os.MkdirTemp("", "spool")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(root)
	sp := spool{root: root}
	if err := sp.prepare(); err != nil {
		fmt.Println(err)
		return
	}
	// The producer: a hidden temporary file, renamed once complete.
	tmp := filepath.Join(root, "incoming", ".greeting.tmp")
	_ = os.WriteFile(tmp, []byte(`{"text":"hello spool world"}`), 0o600)
	_ = os.Rename(tmp, filepath.Join(root, "incoming", "greeting.json"))

	w := &worker{spool: sp, cfg: &Config{MaxJobBytes: 1024}}
	ctx := context.Background()
	name, _ := sp.claim(ctx)
	outcome, err := w.do(ctx, name, "greeting")
	fmt.Println(name, outcome, err)
	b, _ := os.ReadFile(filepath.Join(root, "done", name))
	fmt.Print(string(b))
	n, _ := sp.backlog(ctx)
	claims, _ := sp.names(ctx, workDir, scanBatch)
	fmt.Println("backlog", n, "claims", len(claims))
	// Output:
	// greeting.json done <nil>
	// {"id":"greeting","words":3,"sha256":"5a7f4f5af3b8907fcc3f285c8eaf8085c7f8949043e04aa549fa4dfafa069fcc","worked":"0s"}
	// backlog 0 claims 0
}
