// Package kubescore runs kube-score, as a library, on every overlay of the
// service template's deploy/ directory.
//
// It is a module of its own, apart from templatecheck: kube-score v1.20.0
// (the only version the module proxy serves) builds only with
// k8s.io/apimachinery before v0.34 (its label selector lacks the Lookup
// method v0.34 added to labels.Labels) and a k8s.io/api that still has
// autoscaling/v2beta1 and v2beta2, while templatecheck decodes strictly
// into the newest k8s.io/api types and needs the newest BuildKit, which
// requires apimachinery v0.34 or later. Pinned here: k8s.io/api and
// k8s.io/apimachinery v0.33.13.
//
//	cd templatecheck/kubescore && go test ./...
package kubescore

import (
	"bytes"
	"fmt"

	"github.com/zegl/kube-score/config"
	ks "github.com/zegl/kube-score/domain"
	"github.com/zegl/kube-score/parser"
	"github.com/zegl/kube-score/score"
	"github.com/zegl/kube-score/score/checks"
	"github.com/zegl/kube-score/scorecard"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Score renders the kustomization in dir with kustomize's Go API and runs
// kube-score on it as its command does (`kube-score score`: every default
// check, the ignore and optional-check annotations honoured) for the
// Kubernetes version kubeVersion ("v1.33"). It returns the critical
// findings and, apart, the warnings, one line each.
func Score(dir, kubeVersion string) (critical, warnings []string, err error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, nil, err
	}
	stream, err := m.AsYaml()
	if err != nil {
		return nil, nil, err
	}
	p, err := parser.New(nil)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := p.ParseFiles([]ks.NamedReader{named{bytes.NewReader(stream), dir}})
	if err != nil {
		return nil, nil, err
	}
	ver, err := config.ParseSemver(kubeVersion)
	if err != nil {
		return nil, nil, err
	}
	run := &config.RunConfiguration{
		UseIgnoreChecksAnnotation:   true,
		UseOptionalChecksAnnotation: true,
		KubernetesVersion:           ver,
		MinReplicasDeployment:       2,
		MinReplicasHPA:              2,
	}
	card, err := score.Score(parsed, score.RegisterAllChecks(parsed, &checks.Config{}, run), run)
	if err != nil {
		return nil, nil, err
	}
	for _, obj := range *card {
		for _, c := range obj.Checks {
			if c.Skipped {
				continue
			}
			where := fmt.Sprintf("%s %s: %s", obj.TypeMeta.Kind, obj.ObjectMeta.Name, c.Check.ID)
			lines := []string{}
			for _, cm := range c.Comments {
				lines = append(lines, fmt.Sprintf("%s: %s: %s %s", where, cm.Path, cm.Summary, cm.Description))
			}
			if len(lines) == 0 {
				lines = append(lines, where)
			}
			switch {
			case c.Grade <= scorecard.GradeCritical:
				critical = append(critical, lines...)
			case c.Grade < scorecard.GradeAllOK:
				warnings = append(warnings, lines...)
			}
		}
	}
	return critical, warnings, nil
}

type named struct {
	*bytes.Reader
	name string
}

func (n named) Name() string { return n.name }
