#!/usr/bin/env bash
# deploy-lint.sh: offline checks of the deployment artefacts
# (docker-compose.yml, deploy/Dockerfile, deploy/kubernetes, deploy/systemd,
# deploy/policies, the TOML configs). Needs only PyPI (a pinned venv under
# tests/.work/deploy-lint/venv, reused when it matches) and whatever of
# kubectl, systemd-analyze, docker compose / docker-compose and the sigstead
# binary the machine has; a missing tool turns its checks into SKIP lines.
#
#   1. every YAML file parses; yamllint (relaxed: long lines, no `---`)
#   2. docker-compose.yml against the compose-spec JSON schema (vendored by
#      check-jsonschema), `docker compose config` (or docker-compose v1), and
#      its consistency with deploy/compose/*.toml: every path a config names
#      is mounted, a service gets only the secrets and keys its config names,
#      health checks probe the port the config listens on
#   3. `kubectl kustomize deploy/kubernetes`, validated strictly against the
#      Kubernetes schemas (kubernetes-validate, offline), a canary typo must be
#      refused, and the same consistency checks plus restricted pod security
#   4. `systemd-analyze verify` of every unit (any warning fails), credentials
#      named by deploy/systemd/*.toml are loaded by their unit
#   5. policies: identities pinned (issuer and anchored subject), private
#      Rekor URL, TrustRoot references; strict validation against the Kyverno,
#      policy-controller and Flux CRDs kept in tests/e2e/crds (ORIGIN.md names
#      their upstream files), or those SIGSTEAD_POLICY_CRDS names (comma-separated)
# `deploy-lint.sh --crd DOC...` runs only the CRD validation, of DOCs.
#   6. deploy/Dockerfile's build inputs exist and pass .dockerignore
#   7. the sigstead binary ($SIGSTEAD_BIN, else target/{debug,release}) accepts
#      every config (it gets as far as opening its key files)
# Prints PASS/FAIL/SKIP lines and a closing `N passed, N failed, N skipped`.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/tests/.work/deploy-lint"
VENV="${DEPLOY_LINT_VENV:-$WORK/venv}"
PINS=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0 yamllint==1.38.0 PyYAML==6.0.4 jsonschema==4.26.0)
# The upstream CRDs (tests/e2e/crds/ORIGIN.md), or SIGSTEAD_POLICY_CRDS (comma-separated).
POLICY_CRDS="${SIGSTEAD_POLICY_CRDS:-$(ls "$HERE"/crds/*.yaml "$HERE"/crds/*.yaml.gz | paste -sd, -)}"
mkdir -p "$WORK"
TMP="$(mktemp -d "$WORK/run.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
cd "$ROOT" || exit 1

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $(printf '%s' "${2:-}" | tr '\n' ' ' | cut -c1-400)"; }
skip() { echo "SKIP $1: $2"; }
# run NAME CMD...: one PASS/FAIL for a command, its output shown on failure
run() {
    local name="$1" log="$TMP/$1.log"; shift
    if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "$(tail -5 "$log")"; fi
}

setup_venv() {
    local freeze
    if [ -x "$VENV/bin/python" ]; then
        freeze="$("$VENV/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | tr '[:upper:]' '[:lower:]')"
        local ok=1 p
        for p in "${PINS[@]}"; do
            grep -qx "$(printf '%s' "$p" | tr '[:upper:]' '[:lower:]')" <<<"$freeze" || ok=0
        done
        [ "$ok" = 1 ] && return 0
    fi
    python3 -m venv "$VENV" && "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}"
}

# deploy-lint.sh --crd DOC...: only the strict CRD validation, of the given documents
# (the admission configurations of an exported kit, say).
crd_only() {
    if ! setup_venv >"$TMP/venv.log" 2>&1; then fail lint_tools_installed "$(tail -3 "$TMP/venv.log")"; return 1; fi
    "$VENV/bin/python" "$HERE/deploy_lint.py" crd "$POLICY_CRDS" "$@" | tee "$TMP/crd.out"
    ! grep -q '^FAIL' "$TMP/crd.out" && grep -q '^PASS' "$TMP/crd.out"
}

main() {
    local PY=""
    if setup_venv >"$TMP/venv.log" 2>&1; then
        pass lint_tools_installed
        PY="$VENV/bin/python"
    else
        fail lint_tools_installed "pip install ${PINS[*]} into $VENV: $(tail -3 "$TMP/venv.log")"
    fi
    local LINT=("$PY" "$HERE/deploy_lint.py")

    mapfile -t yamls < <(find docker-compose.yml deploy -name '*.yml' -o -name '*.yaml' | sort)

    # 1. YAML
    if [ -n "$PY" ]; then
        "${LINT[@]}" yaml "${yamls[@]}"
        run yamllint "$VENV/bin/yamllint" -f parsable -d \
            '{extends: default, rules: {line-length: {max: 140}, document-start: disable, truthy: {check-keys: false}}}' \
            "${yamls[@]}"
    else
        skip yaml "no lint tools"
    fi

    # 2. docker compose
    if [ -n "$PY" ]; then
        run compose_spec_schema "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
        "${LINT[@]}" compose docker-compose.yml
    fi
    if docker compose version >/dev/null 2>&1; then
        run docker_compose_config docker compose -f docker-compose.yml config -q
    elif command -v docker-compose >/dev/null 2>&1; then
        # Compose v1 predates the top-level `name:`; everything else it checks.
        sed '/^name: /d' docker-compose.yml >"$TMP/compose-v1.yml"
        run docker_compose_v1_config docker-compose -f "$TMP/compose-v1.yml" --project-directory "$ROOT" config -q
    else
        skip docker_compose_config "neither the docker compose plugin nor docker-compose is installed"
    fi

    # 3. Kubernetes
    local built="$TMP/kubernetes.yaml"
    if command -v kubectl >/dev/null 2>&1; then
        run kustomize_build sh -c "kubectl kustomize deploy/kubernetes > '$built'"
    else
        skip kustomize_build "no kubectl"
        built=""
    fi
    if [ -n "$PY" ] && [ -n "$built" ] && [ -s "$built" ]; then
        run k8s_schema_strict "$VENV/bin/kubernetes-validate" --strict --quiet "$built" deploy/kubernetes/secrets.example.yaml
        sed 's/readOnlyRootFilesystem/readOnlyRootFileSystem/' "$built" >"$TMP/typo.yaml"
        if "$VENV/bin/kubernetes-validate" --strict --quiet "$TMP/typo.yaml" >/dev/null 2>&1; then
            fail k8s_schema_refuses_typo "kubernetes-validate accepted readOnlyRootFileSystem"
        else
            pass k8s_schema_refuses_typo
        fi
        "${LINT[@]}" k8s "$built" deploy/kubernetes/secrets.example.yaml
    fi

    # 4. systemd
    if command -v systemd-analyze >/dev/null 2>&1; then
        local sd="$TMP/systemd" u out
        mkdir -p "$sd"
        printf '#!/bin/sh\nexit 0\n' >"$sd/sigstead-stub"; chmod +x "$sd/sigstead-stub"
        for u in deploy/systemd/*.service deploy/systemd/*.target; do
            # The binary need not be installed here: point ExecStart at a stub.
            sed "s#/usr/local/bin/sigstead#$sd/sigstead-stub#g" "$u" >"$sd/$(basename "$u")"
        done
        for u in "$sd"/*.service "$sd"/*.target; do
            if out="$(cd "$sd" && systemd-analyze verify "./$(basename "$u")" 2>&1)" && [ -z "$out" ]; then
                pass "systemd_verify $(basename "$u")"
            else
                fail "systemd_verify $(basename "$u")" "$out"
            fi
        done
    else
        skip systemd_verify "no systemd-analyze"
    fi
    [ -n "$PY" ] && "${LINT[@]}" systemd deploy/systemd

    # 5. admission policies
    if [ -n "$PY" ]; then
        "${LINT[@]}" policies deploy/policies
        "${LINT[@]}" crd "$POLICY_CRDS" deploy/policies/*.yaml
    fi

    # 6. Dockerfile inputs
    local missing="" src
    while read -r src; do
        [ -e "$src" ] || missing="$missing $src (missing)"
        grep -qx "!$src/\?" .dockerignore || missing="$missing $src (excluded by .dockerignore)"
    done < <(grep '^COPY ' deploy/Dockerfile | grep -v -- '--from=' | sed 's/^COPY //' | awk '{for (i=1;i<NF;i++) print $i}')
    grep -q '^USER 10001' deploy/Dockerfile || missing="$missing USER-is-not-10001"
    [ "$(grep -c '^FROM ' deploy/Dockerfile)" -ge 2 ] || missing="$missing not-multi-stage"
    if [ -z "$missing" ]; then pass dockerfile_inputs; else fail dockerfile_inputs "$missing"; fi

    # 7. the binary accepts the configs
    local bin="${SIGSTEAD_BIN:-}"
    if [ -z "$bin" ]; then
        for b in target/debug/sigstead target/release/sigstead; do [ -x "$b" ] && { bin="$ROOT/$b"; break; }; done
    fi
    if [ -n "$PY" ] && [ -n "$bin" ] && [ -x "$bin" ]; then
        "${LINT[@]}" configs "$bin" deploy/*.example.toml deploy/compose/*.toml deploy/kubernetes/config/*.toml deploy/systemd/*.toml
    else
        skip config_accepted "no sigstead binary (set SIGSTEAD_BIN or build target/debug/sigstead)"
    fi
}

if [ "${1:-}" = --crd ]; then shift; crd_only "$@"; exit $?; fi
main 2>&1 | tee "$TMP/all.log"
p=$(grep -c '^PASS ' "$TMP/all.log"); f=$(grep -c '^FAIL ' "$TMP/all.log"); s=$(grep -c '^SKIP ' "$TMP/all.log")
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
