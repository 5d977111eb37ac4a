#!/usr/bin/env bash
# Rolls out one image of the worker to one environment, smoke-tests it, and
# rolls back when the rollout or the smoke test fails:
#   deploy/rollout.sh ENVIRONMENT IMAGE_REF
# IMAGE_REF is REGISTRY/worker:TAG@sha256:DIGEST (the pipeline's image job
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
  - name: registry.example.com/worker
    newName: ${name_tag%:*}
    digest: ${ref#*@}
YAML

ns=worker
rollback() {
	echo "::error::$1: rolling back"
	kubectl -n "$ns" rollout undo deployment/worker
	kubectl -n "$ns" rollout status deployment/worker --timeout=5m
	exit 1
}

# Recreate: the old pod finishes or hands back its jobs before the new one
# starts, within its grace period.
kubectl apply -k "$work"
kubectl -n "$ns" rollout status deployment/worker --timeout=5m || rollback "the rollout did not complete"

# Smoke test through the pod's admin listener (the worker serves no route):
# ready (its spool usable), and its job metrics exported.
kubectl -n "$ns" port-forward deployment/worker 19090:9090 >/dev/null &
forward=$!
for _ in $(seq 1 30); do
	curl -fsS -o /dev/null http://127.0.0.1:19090/livez && break
	sleep 1
done
curl -fsS http://127.0.0.1:19090/readyz || rollback "/readyz failed"
# (Into a file: grep -q would close the pipe early and fail curl under pipefail.)
curl -fsS -o "$work/metrics" http://127.0.0.1:19090/metrics || rollback "/metrics failed"
grep -q '^worker_backlog' "$work/metrics" || rollback "/metrics has no worker_backlog"
echo "rollout: $env runs $ref"
