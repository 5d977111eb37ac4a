#!/usr/bin/env bash
# Rolls out one image to one environment, smoke-tests it, and rolls back
# when the rollout or the smoke test fails:
#   deploy/rollout.sh ENVIRONMENT IMAGE_REF
# IMAGE_REF is REGISTRY/example:TAG@sha256:DIGEST (the pipeline's image job
# prints it). KUBECONFIG_DATA, when set, is the cluster's kubeconfig.
# Needs kubectl and curl. Run by the workflow (.github/workflows/ci.yaml).
set -euo pipefail
env=$1 ref=$2
here=$(cd "$(dirname "$0")" && pwd)
overlay=$here/overlays/$env
[ -d "$overlay" ] || { echo "rollout: no overlay $overlay" >&2; exit 64; }
case $ref in
*@sha256:*) ;;
*) echo "rollout: $ref is not pinned by digest" >&2; exit 64 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"; [ -z "${forward:-}" ] || kill "$forward" 2>/dev/null || true' EXIT
if [ -n "${KUBECONFIG_DATA:-}" ]; then
	printf '%s' "$KUBECONFIG_DATA" >"$work/kubeconfig"
	export KUBECONFIG=$work/kubeconfig
fi

# The overlay with the image set: name and digest (a digest wins over a tag).
name_tag=${ref%@*}
cat >"$work/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $overlay
images:
  - name: registry.example.com/example
    newName: ${name_tag%:*}
    digest: ${ref#*@}
YAML

ns=example
rollback() {
	echo "::error::$1: rolling back"
	kubectl -n "$ns" rollout undo deployment/example
	kubectl -n "$ns" rollout status deployment/example --timeout=5m
	exit 1
}

kubectl apply -k "$work"
kubectl -n "$ns" rollout status deployment/example --timeout=5m || rollback "the rollout did not complete"

# Smoke test through one pod: readiness on the admin listener, one real
# route on the app listener (TLS, a certificate for the service's name).
kubectl -n "$ns" port-forward deployment/example 18080:8080 19090:9090 >/dev/null &
forward=$!
for _ in $(seq 1 30); do
	curl -fsS -o /dev/null http://127.0.0.1:19090/livez && break
	sleep 1
done
curl -fsS http://127.0.0.1:19090/readyz || rollback "/readyz failed"
curl -fsSk https://127.0.0.1:18080/hello || rollback "GET /hello failed"
echo "rollout: $env runs $ref"
