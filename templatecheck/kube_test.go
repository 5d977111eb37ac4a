package templatecheck

import (
	"path/filepath"
	"testing"
)

var deployDir = filepath.Join(serviceDir, "deploy")

// checkOverlays renders every overlay of deploy, decodes it strictly and
// checks it against tm's contract, the image of dockerfile and the rules
// of kind; it returns every problem, by overlay, and the normalized
// overlays.
func checkOverlays(t *testing.T, tm Template, kind Kind, deploy, dockerfile string) (map[string][]error, map[string]string) {
	t.Helper()
	c, err := LoadContract(root, tm)
	if err != nil {
		t.Fatal(err)
	}
	img, err := RuntimeImage(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	problems := map[string][]error{}
	normal := map[string]string{}
	for _, env := range Overlays {
		stream, err := Render(OverlayDir(deploy, env))
		if err != nil {
			problems[env] = append(problems[env], err)
			continue
		}
		objs, errs := DecodeStrict(stream)
		problems[env] = append(problems[env], errs...)
		problems[env] = append(problems[env], CheckManifests(env, objs, c, img, kind)...)
		if normal[env], err = Normalize(objs); err != nil {
			t.Fatal(err)
		}
	}
	return problems, normal
}

func TestOverlays(t *testing.T) {
	forEachTemplate(t, func(t *testing.T, tm Template, kind Kind) {
		problems, normal := checkOverlays(t, tm, kind, tm.Deploy(), tm.Dockerfile())
		for _, env := range Overlays {
			for _, err := range problems[env] {
				t.Error(err)
			}
		}
		// The environments differ only in replicas, resources and config data.
		for _, env := range Overlays[1:] {
			if normal[env] != normal[Overlays[0]] {
				t.Errorf("%s differs from %s in more than replicas, resources and config data:\n%s", env, Overlays[0], diffLines(normal[Overlays[0]], normal[env]))
			}
		}
	})
}

func TestContractParses(t *testing.T) {
	forEachTemplate(t, func(t *testing.T, tm Template, _ Kind) {
		c, err := LoadContract(root, tm)
		if err != nil {
			t.Fatal(err)
		}
		if c.AppPort == 0 || c.AdminPort == 0 || c.ShutdownTimeout == 0 || len(c.Environments) < 4 {
			t.Errorf("contract = %+v; want both ports, a shutdown timeout and the environments", *c)
		}
	})
}

// diffLines shows the lines of b that a has not.
func diffLines(a, b string) string {
	seen := map[string]bool{}
	for _, l := range splitLines(a) {
		seen[l] = true
	}
	out := ""
	for _, l := range splitLines(b) {
		if !seen[l] {
			out += "+ " + l + "\n"
		}
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
