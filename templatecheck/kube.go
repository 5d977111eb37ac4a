package templatecheck

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Render builds the kustomization in dir (an overlay) with kustomize's Go
// API, as `kubectl kustomize dir` does: from the disk, with the default
// load restrictions (no file outside the kustomization's root). It
// returns the objects as one multi-document YAML stream.
func Render(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return m.AsYaml()
}

// Objects are a rendered overlay's objects, decoded into the k8s.io/api
// types.
type Objects struct {
	All                      []runtime.Object
	Deployments              []*appsv1.Deployment
	Services                 []*corev1.Service
	ConfigMaps               []*corev1.ConfigMap
	ServiceAccounts          []*corev1.ServiceAccount
	NetworkPolicies          []*networkingv1.NetworkPolicy
	PodDisruptionBudgets     []*policyv1.PodDisruptionBudget
	HorizontalPodAutoscalers []*autoscalingv2.HorizontalPodAutoscaler
	PersistentVolumeClaims   []*corev1.PersistentVolumeClaim
}

// scheme holds the only kinds the template may contain: an object of any
// other kind (a CRD such as ServiceMonitor included) fails to decode.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, networkingv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// DecodeStrict decodes every document of a YAML stream into its k8s.io/api
// type, strictly: an unknown or duplicated field is an error, as it is for
// `kubectl apply --validate=strict`. It returns every problem.
func DecodeStrict(stream []byte) (*Objects, []error) {
	ser := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	objs := &Objects{}
	var errs []error
	for i, doc := range splitYAML(stream) {
		obj, gvk, err := ser.Decode(doc, nil, nil)
		if err != nil {
			name := firstLine(doc, "name:")
			errs = append(errs, fmt.Errorf("document %d (%s): %w", i, name, err))
			continue
		}
		obj.GetObjectKind().SetGroupVersionKind(*gvk)
		objs.All = append(objs.All, obj)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			objs.Deployments = append(objs.Deployments, o)
		case *corev1.Service:
			objs.Services = append(objs.Services, o)
		case *corev1.ConfigMap:
			objs.ConfigMaps = append(objs.ConfigMaps, o)
		case *corev1.ServiceAccount:
			objs.ServiceAccounts = append(objs.ServiceAccounts, o)
		case *networkingv1.NetworkPolicy:
			objs.NetworkPolicies = append(objs.NetworkPolicies, o)
		case *policyv1.PodDisruptionBudget:
			objs.PodDisruptionBudgets = append(objs.PodDisruptionBudgets, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			objs.HorizontalPodAutoscalers = append(objs.HorizontalPodAutoscalers, o)
		case *corev1.PersistentVolumeClaim:
			objs.PersistentVolumeClaims = append(objs.PersistentVolumeClaims, o)
		}
	}
	return objs, errs
}

func splitYAML(stream []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(stream, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func firstLine(doc []byte, prefix string) string {
	for _, l := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, prefix) {
			return t
		}
	}
	return "?"
}

// Overlays are the environments of deploy/overlays, by name.
var Overlays = []string{"development", "staging", "production"}

// OverlayDir is the directory of an overlay under a deploy/ directory.
func OverlayDir(deploy, env string) string { return filepath.Join(deploy, "overlays", env) }
