package templatecheck

import (
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/rhysd/actionlint"
)

// Shellcheck is the shellcheck executable: $SHELLCHECK_BIN (the Makefile
// sets it from scripts/shellcheck.sh, which installs Debian's package), or
// shellcheck on PATH.
func Shellcheck() (string, error) {
	if p := os.Getenv("SHELLCHECK_BIN"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("shellcheck")
	if err != nil {
		return "", fmt.Errorf("no shellcheck: run scripts/shellcheck.sh (Debian's package) or set SHELLCHECK_BIN")
	}
	return p, nil
}

// LintWorkflow runs actionlint, as a library, on the workflow file at
// path, with shellcheck on every run: step; it returns one line per
// finding.
func LintWorkflow(path, shellcheck string) ([]string, error) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Shellcheck: shellcheck})
	if err != nil {
		return nil, err
	}
	found, err := l.LintFile(path, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range found {
		out = append(out, fmt.Sprintf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind))
	}
	return out, nil
}

// ShellcheckScripts runs shellcheck on the scripts, returning its output
// when it finds anything.
func ShellcheckScripts(shellcheck string, scripts ...string) error {
	out, err := exec.Command(shellcheck, append([]string{"--format=gcc", "--external-sources"}, scripts...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("shellcheck: %v\n%s", err, out)
	}
	return nil
}
