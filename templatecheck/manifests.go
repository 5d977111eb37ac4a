package templatecheck

import (
	"encoding/json"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// Image is what the manifests must agree with in the image: its working
// directory and its numeric user.
type Image struct {
	Workdir string
	UID     int64
	Exposed []int // EXPOSE's ports
}

// ShutdownMargin is how much longer than the whole stop sequence
// (SHUTDOWN_TIMEOUT) the kubelet must wait before it kills the process.
const ShutdownMargin = 5 * time.Second

// MinStartupWindow is the least time the startupProbe must give start-up
// (failureThreshold × periodSeconds): Vault's login and first secret
// reads, the first checks and the start-up tasks, well above the measured
// start-up without Vault (milliseconds, BENCHMARKS.md).
const MinStartupWindow = 30 * time.Second

// CheckManifests checks one rendered overlay (env, its objects) of a
// template of the kind given against the contract and the image: the
// things a kube-score or a strict decode cannot know. It returns every
// problem.
func CheckManifests(env string, objs *Objects, c *Contract, img Image, kind Kind) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(env+": "+format, args...)) }
	if len(objs.Deployments) != 1 {
		bad("want one Deployment, have %d", len(objs.Deployments))
		return errs
	}
	d := objs.Deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		bad("want one container, have %d", len(pod.Containers))
		return errs
	}
	ct := pod.Containers[0]
	env0 := map[string]string{}
	for _, e := range ct.Env {
		env0[e.Name] = e.Value
	}
	configMaps := map[string]*corev1.ConfigMap{}
	for _, cm := range objs.ConfigMaps {
		configMaps[cm.Name] = cm
	}
	for _, ef := range ct.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		cm := configMaps[ef.ConfigMapRef.Name]
		if cm == nil {
			bad("envFrom names ConfigMap %s, which the overlay does not make", ef.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			if _, set := env0[k]; !set {
				env0[k] = v
			}
		}
	}

	// Ports: the container's named ports are the listeners' defaults, and
	// the variables, when set, say the same.
	ports := map[string]int32{}
	for _, p := range ct.Ports {
		ports[p.Name] = p.ContainerPort
	}
	switch {
	case kind == Worker:
		// No route: the app listener bound to loopback, no port for it.
		if p, ok := ports["app"]; ok {
			bad("container port app %d: a worker serves no route; bind HTTP_ADDR to loopback instead", p)
		}
		if h, _, err := net.SplitHostPort(env0["HTTP_ADDR"]); err != nil || !(h == "localhost" || net.ParseIP(h).IsLoopback()) {
			bad("HTTP_ADDR=%q: a worker's app listener serves no route and must be bound to loopback", env0["HTTP_ADDR"])
		}
	case ports["app"] != int32(c.AppPort):
		bad("container port app is %d; the app listener is on %d (HTTP_ADDR's default, CONTRACT.md)", ports["app"], c.AppPort)
	}
	if ports["admin"] != int32(c.AdminPort) {
		bad("container port admin is %d; the admin listener is on %d (ADMIN_ADDR's default, CONTRACT.md)", ports["admin"], c.AdminPort)
	}
	// gRPC: GRPC_ADDR has no default; a container that serves it names
	// the port grpc, on the conventional port, and the image exposes it.
	grpcPort, grpcNamed := ports["grpc"]
	grpcAddr, grpcSet := env0["GRPC_ADDR"]
	switch {
	case grpcNamed && !grpcSet:
		bad("container port grpc %d, but GRPC_ADDR is not set: the service has no gRPC listener without it", grpcPort)
	case grpcSet && !grpcNamed:
		bad("GRPC_ADDR=%q, but no container port is named grpc", grpcAddr)
	case grpcSet:
		if p, err := portOf(grpcAddr); err != nil || p != int(grpcPort) {
			bad("GRPC_ADDR=%q: the container's port grpc is %d", grpcAddr, grpcPort)
		}
		if grpcPort != int32(c.GRPCPort) {
			bad("container port grpc is %d; by the contract's convention the gRPC listener is on %d", grpcPort, c.GRPCPort)
		}
		if !slices.Contains(img.Exposed, int(grpcPort)) {
			bad("container port grpc %d is not in the image's EXPOSE %v", grpcPort, img.Exposed)
		}
	}
	for variable, want := range map[string]int{"HTTP_ADDR": c.AppPort, "ADMIN_ADDR": c.AdminPort} {
		if kind == Worker && variable == "HTTP_ADDR" {
			continue
		}
		if v, ok := env0[variable]; ok {
			if p, err := portOf(v); err != nil || p != want {
				bad("%s=%q: the container's port is %d", variable, v, want)
			}
		}
	}
	resolve := func(port intstr.IntOrString) int32 {
		if port.Type == intstr.String {
			return ports[port.StrVal]
		}
		return port.IntVal
	}

	// Probes: the three, on the admin port, at the contract's paths.
	probe := func(name string, p *corev1.Probe, path string) {
		switch {
		case p == nil:
			bad("no %s", name)
		case p.HTTPGet == nil:
			bad("%s is not an HTTP GET", name)
		case p.HTTPGet.Path != path:
			bad("%s asks %s; the contract's path is %s", name, p.HTTPGet.Path, path)
		case resolve(p.HTTPGet.Port) != int32(c.AdminPort):
			bad("%s asks port %s, not the admin listener's %d", name, p.HTTPGet.Port.String(), c.AdminPort)
		case p.HTTPGet.Scheme == corev1.URISchemeHTTPS && env0["ADMIN_TLS_CERT_FILE"] == "":
			bad("%s uses HTTPS, but the admin listener has no TLS", name)
		}
	}
	probe("livenessProbe", ct.LivenessProbe, c.Live)
	probe("readinessProbe", ct.ReadinessProbe, c.Ready)
	probe("startupProbe", ct.StartupProbe, c.Startup)
	if sp := ct.StartupProbe; sp != nil {
		window := time.Duration(max(sp.FailureThreshold, 1)*max(sp.PeriodSeconds, 1)) * time.Second
		if window < MinStartupWindow {
			bad("startupProbe allows %s (failureThreshold × periodSeconds); start-up needs at least %s", window, MinStartupWindow)
		}
	}

	// Shutdown: the grace period outlasts the whole stop sequence.
	timeout := c.ShutdownTimeout
	files := configFiles(pod, ct, configMaps)
	for _, f := range files {
		if v, ok := f.values["SHUTDOWN_TIMEOUT"]; ok {
			if d, err := time.ParseDuration(fmt.Sprint(v)); err == nil {
				timeout = d
			}
		}
	}
	if v, ok := env0["SHUTDOWN_TIMEOUT"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			bad("SHUTDOWN_TIMEOUT=%q: %v", v, err)
		}
		timeout = d
	}
	grace := 30 * time.Second // Kubernetes' default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace < timeout+ShutdownMargin {
		bad("terminationGracePeriodSeconds is %s; SHUTDOWN_TIMEOUT is %s and the kubelet must wait at least %s more", grace, timeout, ShutdownMargin)
	}

	// The variables: each one the service reads, none a typo of one.
	helpers := map[string]bool{} // defined only to be expanded in a later value
	for _, e := range ct.Env {
		for _, later := range ct.Env {
			if strings.Contains(later.Value, "$("+e.Name+")") {
				helpers[e.Name] = true
			}
		}
	}
	for name := range env0 {
		switch {
		case c.Known(name):
		case c.NearMiss(name) != "":
			bad("variable %s is a typo of %s (an error in staging and production)", name, c.NearMiss(name))
		case !helpers[name]:
			bad("variable %s is not one the service reads (-help-config)", name)
		}
	}
	if e := env0["ENVIRONMENT"]; e != env || !slices.Contains(c.Environments, e) {
		bad("ENVIRONMENT is %q; want %q, one of %v", e, env, c.Environments)
	}

	// Config: a ConfigMap mounted whole as config/ under the working
	// directory, holding base.yaml and <ENVIRONMENT>.yaml with known keys.
	workdir := ct.WorkingDir
	if workdir == "" {
		workdir = img.Workdir
	}
	if workdir != img.Workdir {
		bad("workingDir %s is not the image's WORKDIR %s", workdir, img.Workdir)
	}
	configDir := path.Join(workdir, "config")
	var cfgMount *corev1.VolumeMount
	for i, m := range ct.VolumeMounts {
		if path.Clean(m.MountPath) == configDir {
			cfgMount = &ct.VolumeMounts[i]
		}
	}
	switch {
	case cfgMount == nil:
		bad("nothing is mounted at %s, where the service reads its config files", configDir)
	case cfgMount.SubPath != "":
		bad("the config volume is mounted with subPath: a subPath mount never sees a ConfigMap's update, so reload cannot work")
	case len(files) == 0:
		bad("the volume mounted at %s is not a ConfigMap of the overlay", configDir)
	}
	for _, name := range []string{"base.yaml", env + ".yaml"} {
		if _, ok := files[name]; cfgMount != nil && !ok {
			bad("config/ has no %s", name)
		}
	}
	for name, f := range files {
		if f.err != nil {
			bad("config/%s: %v", name, f.err)
		}
		for key, v := range f.values {
			if !c.Known(key) {
				bad("config/%s: key %s is not a variable the service reads", name, key)
				continue
			}
			if c.Variables[key].Secret && env != "local" && !strings.HasPrefix(fmt.Sprint(v), "vault:") {
				bad("config/%s: %s is a secret; outside local it must be a vault: reference", name, key)
			}
		}
	}

	// Vault's Kubernetes auth: a role, a token file the pod has.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mountOf := func(file string) (*corev1.VolumeMount, *corev1.Volume) {
		for i, m := range ct.VolumeMounts {
			if strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
				v := volumes[m.Name]
				return &ct.VolumeMounts[i], &v
			}
		}
		return nil, nil
	}
	if env0["VAULT_ADDR"] == "" {
		bad("no VAULT_ADDR: the secrets come from Vault")
	}
	if m := env0["VAULT_AUTH_METHOD"]; m != "kubernetes" {
		bad("VAULT_AUTH_METHOD is %q; want kubernetes", m)
	}
	if env0["VAULT_KUBERNETES_ROLE"] == "" {
		bad("no VAULT_KUBERNETES_ROLE")
	}
	if pod.ServiceAccountName == "" || pod.ServiceAccountName == "default" {
		bad("the pods run as the default ServiceAccount; Vault's role binds one of the service's own")
	} else if !slices.ContainsFunc(objs.ServiceAccounts, func(sa *corev1.ServiceAccount) bool { return sa.Name == pod.ServiceAccountName }) {
		bad("ServiceAccount %s is not in the overlay", pod.ServiceAccountName)
	}
	tokenFile := env0["VAULT_KUBERNETES_TOKEN_FILE"]
	if tokenFile == "" {
		tokenFile = c.Variables["VAULT_KUBERNETES_TOKEN_FILE"].Default
	}
	if _, v := mountOf(tokenFile); v == nil || v.Projected == nil || !slices.ContainsFunc(v.Projected.Sources, func(s corev1.VolumeProjection) bool {
		return s.ServiceAccountToken != nil && path.Join(mountPathOf(ct, v.Name), s.ServiceAccountToken.Path) == tokenFile
	}) {
		bad("VAULT_KUBERNETES_TOKEN_FILE %s is not a projected service account token of the pod", tokenFile)
	}

	// TLS: the pair from a Secret, for a server's app listener.
	pairs := [][2]string{{"TLS_CERT_FILE", "TLS_KEY_FILE"}}
	if kind == Worker {
		pairs = nil
	}
	for _, pair := range pairs {
		for _, variable := range pair {
			file := env0[variable]
			if file == "" {
				bad("no %s: the app listener serves TLS from a mounted Secret", variable)
				continue
			}
			if _, v := mountOf(file); v == nil || v.Secret == nil {
				bad("%s %s is not in a volume from a Secret", variable, file)
			}
		}
	}

	// Security context.
	errs = append(errs, checkSecurity(env, pod, ct, img, kind)...)

	// Resources.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := ct.Resources.Requests[r]; !ok {
			bad("no %s request", r)
		}
	}
	if _, ok := ct.Resources.Limits[corev1.ResourceMemory]; !ok {
		bad("no memory limit")
	}

	// Metrics: scrape annotations on the admin port.
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(c.AdminPort) || ann["prometheus.io/path"] != c.Metrics {
		bad("scrape annotations %v: want prometheus.io/scrape true, port %d, path %s", ann, c.AdminPort, c.Metrics)
	}

	if kind == Worker {
		errs = append(errs, checkWorker(env, objs, d)...)
	} else {
		errs = append(errs, checkService(env, objs, d, ports, c)...)
		errs = append(errs, checkScaling(env, objs, d)...)
	}
	errs = append(errs, checkNetworkPolicy(env, objs, d, ports, c, kind)...)
	return errs
}

func mountPathOf(ct corev1.Container, volume string) string {
	for _, m := range ct.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

func checkSecurity(env string, pod corev1.PodSpec, ct corev1.Container, img Image, kind Kind) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(env+": "+format, args...)) }
	sc := ct.SecurityContext
	psc := pod.SecurityContext
	if sc == nil {
		return append(errs, fmt.Errorf("%s: the container has no securityContext", env))
	}
	nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	if !nonRoot {
		bad("runAsNonRoot is not true")
	}
	uid := int64(-1)
	if psc != nil && psc.RunAsUser != nil {
		uid = *psc.RunAsUser
	}
	if sc.RunAsUser != nil {
		uid = *sc.RunAsUser
	}
	if uid != -1 && uid != img.UID {
		bad("runAsUser %d is not the image's USER %d", uid, img.UID)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		bad("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		bad("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		bad("the container is privileged")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		bad("capabilities: want drop [ALL] and nothing added")
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && psc != nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		bad("seccompProfile is not RuntimeDefault")
	}
	// The only writable paths are a mounted /tmp and, for a worker, the
	// volume claims that hold its source.
	claimed := map[string]bool{}
	for _, v := range pod.Volumes {
		claimed[v.Name] = kind == Worker && v.PersistentVolumeClaim != nil
	}
	for _, m := range ct.VolumeMounts {
		if !m.ReadOnly && m.MountPath != "/tmp" && !claimed[m.Name] {
			bad("volume %s is mounted writable at %s; only /tmp (and a worker's volume claims) may be", m.Name, m.MountPath)
		}
	}
	return errs
}

func checkService(env string, objs *Objects, d *appsv1.Deployment, ports map[string]int32, c *Contract) []error {
	var errs []error
	if len(objs.Services) != 1 {
		return []error{fmt.Errorf("%s: want one Service, have %d", env, len(objs.Services))}
	}
	s := objs.Services[0]
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			errs = append(errs, fmt.Errorf("%s: Service selector %s=%s does not select the pods", env, k, v))
		}
	}
	for _, p := range s.Spec.Ports {
		t := p.TargetPort
		target := t.IntVal
		if t.Type == intstr.String {
			target = ports[t.StrVal]
		}
		if target != int32(c.AppPort) && (target == 0 || target != ports["grpc"]) {
			errs = append(errs, fmt.Errorf("%s: Service port %s targets %s, neither the app listener's %d nor the gRPC listener's (the admin port stays off the Service)", env, p.Name, t.String(), c.AppPort))
		}
	}
	return errs
}

// checkNetworkPolicy: the app port open to the ingress namespace only,
// the admin port to the monitoring namespace only, nothing else.
func checkNetworkPolicy(env string, objs *Objects, d *appsv1.Deployment, ports map[string]int32, c *Contract, kind Kind) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(env+": NetworkPolicy: "+format, args...))
	}
	var np *networkingv1.NetworkPolicy
	for _, p := range objs.NetworkPolicies {
		if selects(p.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) {
			np = p
		}
	}
	if np == nil {
		return []error{fmt.Errorf("%s: no NetworkPolicy selects the pods", env)}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		bad("policyTypes has no Ingress")
	}
	open := map[int32][]string{} // port → namespaces allowed
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			bad("a rule with no ports opens every port")
		}
		if len(rule.From) == 0 {
			bad("a rule with no from opens its ports to everyone")
		}
		var nss []string
		for _, peer := range rule.From {
			if peer.NamespaceSelector == nil || peer.IPBlock != nil {
				bad("a peer that is not a namespace")
				continue
			}
			ns := peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
			if ns == "" {
				bad("a namespaceSelector that does not name its namespace (kubernetes.io/metadata.name)")
			}
			nss = append(nss, ns)
		}
		for _, p := range rule.Ports {
			if p.Port == nil {
				bad("a rule without a port number opens every port")
				continue
			}
			port := p.Port.IntVal
			if p.Port.Type == intstr.String {
				port = ports[p.Port.StrVal]
			}
			open[port] = append(open[port], nss...)
		}
	}
	// A peer in another namespace must not be selected by the service's
	// own labels (kustomize's includeSelectors writes them there).
	var peers []networkingv1.NetworkPolicyPeer
	for _, r := range np.Spec.Ingress {
		peers = append(peers, r.From...)
	}
	for _, r := range np.Spec.Egress {
		peers = append(peers, r.To...)
	}
	for _, peer := range peers {
		if peer.NamespaceSelector == nil || peer.PodSelector == nil {
			continue
		}
		for k, v := range peer.PodSelector.MatchLabels {
			if d.Spec.Template.Labels[k] == v && strings.HasPrefix(k, "app.kubernetes.io/") {
				bad("a peer in namespace %s is selected by the service's own label %s=%s, which its pods do not carry",
					peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"], k, v)
			}
		}
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		bad("policyTypes has no Egress")
	}
	want := map[int32]string{int32(c.AppPort): "ingress", int32(c.AdminPort): "monitoring"}
	if kind == Worker {
		want = map[int32]string{int32(c.AdminPort): "monitoring"}
	}
	if p, ok := ports["grpc"]; ok {
		want[p] = "ingress"
	}
	for port, nss := range open {
		w, ok := want[port]
		if !ok {
			bad("port %d is open, and is neither listener's", port)
			continue
		}
		for _, ns := range nss {
			if !strings.Contains(ns, w) {
				bad("port %d is open to namespace %s; only the %s namespace may reach it", port, ns, w)
			}
		}
	}
	for port, w := range want {
		if len(open[port]) == 0 {
			bad("port %d is not open to the %s namespace", port, w)
		}
	}
	return errs
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

func checkScaling(env string, objs *Objects, d *appsv1.Deployment) []error {
	var errs []error
	if len(objs.HorizontalPodAutoscalers) != 1 {
		errs = append(errs, fmt.Errorf("%s: want one HorizontalPodAutoscaler, have %d", env, len(objs.HorizontalPodAutoscalers)))
	} else {
		h := objs.HorizontalPodAutoscalers[0]
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			errs = append(errs, fmt.Errorf("%s: the HorizontalPodAutoscaler scales %s %s, not the Deployment", env, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name))
		}
		if d.Spec.Replicas != nil {
			errs = append(errs, fmt.Errorf("%s: the Deployment sets replicas, which the HorizontalPodAutoscaler owns (each apply would reset it)", env))
		}
	}
	if len(objs.PodDisruptionBudgets) != 1 {
		errs = append(errs, fmt.Errorf("%s: want one PodDisruptionBudget, have %d", env, len(objs.PodDisruptionBudgets)))
	} else if sel := objs.PodDisruptionBudgets[0].Spec.Selector; sel == nil || !selects(sel.MatchLabels, d.Spec.Template.Labels) {
		errs = append(errs, fmt.Errorf("%s: the PodDisruptionBudget does not select the pods", env))
	}
	return errs
}

// checkWorker: a worker's source belongs to one pod at a time, so its
// replicas are fixed (no autoscaler), the old pod stops before the new one
// starts (Recreate), no Service sends it traffic, and every volume claim
// it mounts is in the overlay.
func checkWorker(env string, objs *Objects, d *appsv1.Deployment) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(env+": "+format, args...)) }
	if d.Spec.Replicas == nil {
		bad("the Deployment does not set replicas: a worker's count is fixed")
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		bad("the Deployment's strategy is %q; a worker's must be Recreate, so that two pods never share its source", d.Spec.Strategy.Type)
	}
	if n := len(objs.HorizontalPodAutoscalers); n > 0 {
		bad("%d HorizontalPodAutoscaler: a worker's replicas are fixed", n)
	}
	if n := len(objs.Services); n > 0 {
		bad("%d Service: a worker serves no route", n)
	}
	claims := map[string]bool{}
	for _, pvc := range objs.PersistentVolumeClaims {
		claims[pvc.Name] = true
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && !claims[v.PersistentVolumeClaim.ClaimName] {
			bad("volume %s claims %s, which is not a PersistentVolumeClaim of the overlay", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return errs
}

// configFile is one file of the config/ ConfigMap, its keys bound as the
// SDK binds them (nested keys joined with _, - as _, upper case).
type configFile struct {
	values map[string]any
	err    error
}

func configFiles(pod corev1.PodSpec, ct corev1.Container, cms map[string]*corev1.ConfigMap) map[string]configFile {
	workdir := ct.WorkingDir
	files := map[string]configFile{}
	for _, m := range ct.VolumeMounts {
		if path.Clean(m.MountPath) != path.Join(workdir, "config") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil || cms[v.ConfigMap.Name] == nil {
				continue
			}
			for name, text := range cms[v.ConfigMap.Name].Data {
				var tree map[string]any
				f := configFile{values: map[string]any{}}
				if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
					f.err = err
				}
				flatten("", tree, f.values)
				files[name] = f
			}
		}
	}
	return files
}

func flatten(prefix string, tree map[string]any, out map[string]any) {
	for k, v := range tree {
		key := strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		if prefix != "" {
			key = prefix + "_" + key
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
}

// Normalize is an overlay's objects with what an environment may change
// taken out (replicas, resources, config data and the generated names
// that follow it), as JSON, so that two environments compare equal when
// they differ in nothing else.
func Normalize(objs *Objects) (string, error) {
	var parts []string
	for _, o := range objs.All {
		o = o.DeepCopyObject()
		switch o := o.(type) {
		case *appsv1.Deployment:
			o.Spec.Replicas = nil
			for i := range o.Spec.Template.Spec.Containers {
				o.Spec.Template.Spec.Containers[i].Resources = corev1.ResourceRequirements{}
				for j, ef := range o.Spec.Template.Spec.Containers[i].EnvFrom {
					if ef.ConfigMapRef != nil {
						o.Spec.Template.Spec.Containers[i].EnvFrom[j].ConfigMapRef.Name = trimHash(ef.ConfigMapRef.Name)
					}
				}
			}
			for i, v := range o.Spec.Template.Spec.Volumes {
				if v.ConfigMap != nil {
					o.Spec.Template.Spec.Volumes[i].ConfigMap.Name = trimHash(v.ConfigMap.Name)
				}
			}
		case *corev1.ConfigMap:
			o.Name = trimHash(o.Name)
			o.Data = nil
		case *corev1.PersistentVolumeClaim:
			o.Spec.Resources = corev1.VolumeResourceRequirements{}
		}
		if hpa, ok := asHPA(o); ok {
			hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas = nil, 0
		}
		b, err := json.Marshal(o)
		if err != nil {
			return "", err
		}
		parts = append(parts, string(b))
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n"), nil
}

// trimHash removes the -<hash> suffix kustomize's generators add.
func trimHash(name string) string {
	i := strings.LastIndex(name, "-")
	if i < 0 || len(name)-i-1 != 10 {
		return name
	}
	return name[:i]
}

func asHPA(o any) (*autoscalingv2.HorizontalPodAutoscaler, bool) {
	h, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	return h, ok
}
