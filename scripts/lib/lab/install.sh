# `scripts/lab install NAMESPACE [--stopped]`: Herald reinstalled into another namespace, the programs
# restarted with that namespace's tokens; the namespace is kept in $lab/namespace.
# Expects from scripts/lab: lab, system_namespace (set here to the new namespace); objects.sh, processes.sh.
# shellcheck shell=bash disable=SC2154  # (those variables are assigned in scripts/lab)

# Herald reinstalled into another namespace, as docs/migration-from-metallb.md has an operator do it: every
# program stopped, the base (herald-system) or its kustomize overlay (any other namespace) applied, and the
# programs started again with tokens of that namespace's ServiceAccounts. The overlay's Deployment and
# DaemonSet are created for real (no kubelet runs them here). Going back to herald-system applies the base's
# RBAC again (the overlay had moved the ClusterRoleBindings' subjects) and removes the overlay's accounts.
install() {
  local namespace=${1:-} start=true i
  [[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "scripts/lab install NAMESPACE [--stopped]"
  [ "${2:-}" = --stopped ] && start=false
  for i in $(seq "$(node_count)"); do stop_process "$lab" "speaker-$i" TERM; done
  stop_process "$lab" controller TERM
  local previous=$system_namespace
  if [ "$namespace" = herald-system ]; then
    base_apply
  else
    local overlay="$lab/install-$namespace"
    mkdir -p "$overlay"
    cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $namespace
resources:
  - $(realpath --relative-to="$overlay" manifests)
EOF
    kctl apply -k "$overlay" >"$lab/install-$namespace.txt" 2>&1 ||
      { cat "$lab/install-$namespace.txt" >&2; die "the server refuses the overlay $overlay"; }
  fi
  if [ "$previous" != "$namespace" ] && [ "$previous" != herald-system ]; then
    kctl delete -n "$previous" deployment,daemonset,rolebinding,role,serviceaccount -l app.kubernetes.io/name=herald \
      --ignore-not-found >/dev/null
  fi
  echo "$namespace" >"$lab/namespace"
  system_namespace=$namespace
  local account
  for account in herald-controller herald-speaker; do service_account_kubeconfig "$account"; done
  $start || return 0
  controller_start
  for i in $(seq "$(node_count)"); do speaker_start "$i"; done
  for i in $(seq "$(node_count)"); do
    wait_until 30 "node-$i's speaker to be ready" speaker_ready "$i" || { tail -20 "$lab/speaker-$i.log" >&2; exit 1; }
  done
  log "Herald runs in $namespace"
}
