#!/usr/bin/env python3
"""Offline checks of the deployment artefacts, called by deploy-lint.sh.

Each subcommand prints `PASS name`, `FAIL name: why` or `SKIP name: why`
lines; deploy-lint.sh counts them. The checks are about consistency between
the files (a path a config names is mounted where the service runs, a port
the config listens on is the one probed, a service gets only its own keys)
and about what the binary accepts, not about style.

  yaml FILE...                       every document parses
  compose COMPOSE_FILE               docker-compose.yml against its configs
  k8s BUILT_YAML SECRETS_EXAMPLE     kustomize output against its configs
  systemd UNIT_DIR                   units against deploy/systemd/*.toml
  policies POLICY_DIR                identities pinned, private URLs set
  crd CRD_FILES(comma) DOC...        strict validation against CRD schemas
  configs BINARY TOML...             the binary accepts each config
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def out(kind, name, why=""):
    line = f"{kind} {name}"
    if why:
        line += f": {' '.join(str(why).split())[:400]}"
    print(line, flush=True)


def check(name, problems):
    if problems:
        out("FAIL", name, "; ".join(problems))
    else:
        out("PASS", name)


def rel(path):
    return os.path.relpath(path, ROOT)


def toml_paths(value):
    """Absolute file paths named anywhere in a parsed TOML document."""
    found = []
    if isinstance(value, dict):
        for v in value.values():
            found += toml_paths(v)
    elif isinstance(value, list):
        for v in value:
            found += toml_paths(v)
    elif isinstance(value, str) and value.startswith("/"):
        found.append(value)
    return found


def under(path, mounts):
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def listen_port(cfg):
    listen = cfg.get("listen")
    return int(listen.rsplit(":", 1)[1]) if listen else None


def uses_postgres(cfg):
    return str(cfg.get("database_url", "")).startswith("postgres")


def serve_args(args):
    """('rekor', '/etc/…/rekor.toml') from ['serve', 'rekor', '--config', PATH]."""
    if len(args) >= 4 and args[0] == "serve" and "--config" in args:
        return args[1], args[args.index("--config") + 1]
    return None, None


# ---------------------------------------------------------------- yaml ---
def cmd_yaml(files):
    for f in files:
        try:
            with open(f) as fh:
                docs = [d for d in yaml.safe_load_all(fh) if d is not None]
            check(f"yaml_parses {rel(f)}", [] if docs else ["no document"])
        except Exception as e:  # noqa: BLE001 - any parse error is the finding
            out("FAIL", f"yaml_parses {rel(f)}", e)


# ------------------------------------------------------------- compose ---
def cmd_compose(path):
    base = os.path.dirname(os.path.abspath(path))
    with open(path) as fh:
        doc = yaml.safe_load(fh)
    services = doc.get("services", {})
    top_secrets = doc.get("secrets", {})
    used_secrets = set()
    for name, svc in services.items():
        kind, cfg_path = serve_args(svc.get("command") or [])
        problems = []
        secrets = [s if isinstance(s, str) else s["source"] for s in svc.get("secrets", [])]
        used_secrets.update(secrets)
        for s in secrets:
            if s not in top_secrets:
                problems.append(f"secret {s} is not declared")
        env = svc.get("environment", {}) or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        mounts = {}
        for v in svc.get("volumes", []):
            if isinstance(v, str):
                parts = re.split(r":(?![^{]*\})", v)  # not the ':' of ${VAR:-default}
                src, dst = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
            else:
                src, dst = v.get("source"), v["target"]
            mounts[dst] = src
        secret_targets = {f"/run/secrets/{s}": s for s in secrets}
        referenced = set()
        for var in ("PGPASSFILE",):
            if var in env:
                referenced.add(env[var])
        if kind is None:
            # postgres and the one-shot migrate
            if name == "migrate":
                if (svc.get("command") or [None])[0] != "migrate":
                    problems.append("migrate does not run `sigstead migrate`")
                if "SIGSTEAD_DATABASE_URL" not in env:
                    problems.append("no SIGSTEAD_DATABASE_URL")
                cond = (svc.get("depends_on") or {}).get("postgres", {}).get("condition")
                if cond != "service_healthy":
                    problems.append("does not wait for a healthy postgres")
            for value in list(env.values()):
                if str(value).startswith("/run/secrets/"):
                    referenced.add(str(value))
            for s in secrets:
                if f"/run/secrets/{s}" not in referenced:
                    problems.append(f"mounts secret {s} it never names")
            check(f"compose_{name}", problems)
            continue
        if cfg_path not in mounts:
            check(f"compose_{name}", [f"config {cfg_path} is not mounted"])
            continue
        src = os.path.normpath(os.path.join(base, mounts[cfg_path]))
        with open(src, "rb") as fh:
            cfg = tomllib.load(fh)
        if not cfg:
            out("SKIP", f"compose_{name}", f"{rel(src)} is still a TODO placeholder")
            continue
        for p in toml_paths(cfg):
            referenced.add(p)
            if p in secret_targets:
                continue
            if p.startswith("/run/secrets/"):
                problems.append(f"{rel(src)} names {p}, not a secret of this service")
            elif not under(p, [m for m in mounts if m != cfg_path]):
                problems.append(f"{rel(src)} names {p}, which this container does not mount")
        for s in secrets:
            if f"/run/secrets/{s}" not in referenced:
                problems.append(f"mounts secret {s} that its config does not name (least privilege)")
        for dst, s in mounts.items():
            if s and "KEYS_DIR" in s and not any(under(p, [dst]) for p in referenced):
                problems.append(f"mounts {s} at {dst}, which its config does not name (least privilege)")
        if uses_postgres(cfg):
            pgpass = env.get("PGPASSFILE")
            if pgpass not in secret_targets:
                problems.append("database password: PGPASSFILE does not name one of its secrets")
            cond = (svc.get("depends_on") or {}).get("migrate", {}).get("condition")
            if cond != "service_completed_successfully":
                problems.append("does not wait for the migration")
        for key, want in (("read_only", True), ("user", "10001:10001")):
            if svc.get(key) != want:
                problems.append(f"{key} is not {want!r}")
        if "ALL" not in (svc.get("cap_drop") or []):
            problems.append("capabilities not dropped")
        hc = svc.get("healthcheck") or {}
        test = " ".join(hc.get("test") or [])
        m = re.search(r"http://127\.0\.0\.1:(\d+)/(healthz|readyz)", test)
        port = listen_port(cfg)
        if not m:
            problems.append("no /healthz or /readyz health check")
        elif port is None:
            out("SKIP", f"compose_{name}_port", f"{rel(src)} has no listen yet (TODO placeholder)")
        else:
            if int(m.group(1)) != port:
                problems.append(f"health check probes port {m.group(1)}, config listens on {port}")
            published = [str(p).rsplit(":", 1)[-1] for p in svc.get("ports", [])]
            if published and str(port) not in published:
                problems.append(f"publishes {published}, config listens on {port}")
        check(f"compose_{name}", problems)
    unused = set(top_secrets) - used_secrets
    check("compose_secrets_all_used", [f"secret {s} is declared but unused" for s in sorted(unused)])


# ----------------------------------------------------------------- k8s ---
def cmd_k8s(built, secrets_example):
    with open(built) as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d]
    with open(secrets_example) as fh:
        external = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(fh) if d}
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    generated = set(configmaps)
    pods = [(d["kind"], d["metadata"]["name"], d) for d in docs if d["kind"] in ("Deployment", "Job")]
    if not pods:
        check("k8s_workloads", ["no Deployment or Job in the kustomize output"])
    for kind, name, d in pods:
        problems = []
        spec = d["spec"]["template"]["spec"]
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot"):
            problems.append("runAsNonRoot not set")
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append("no RuntimeDefault seccomp profile")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append("service account token mounted")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            ref = (v.get("configMap") or {}).get("name") or (v.get("secret") or {}).get("secretName")
            kind_ref = "ConfigMap" if "configMap" in v else "Secret" if "secret" in v else None
            if kind_ref and ref not in generated and (kind_ref, ref) not in external:
                problems.append(f"{kind_ref} {ref} is neither generated nor in secrets.example.yaml")
        for c in spec["containers"]:
            csc = c.get("securityContext", {})
            if csc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{c['name']}: root filesystem writable")
            if csc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{c['name']}: privilege escalation allowed")
            if "ALL" not in (csc.get("capabilities") or {}).get("drop", []):
                problems.append(f"{c['name']}: capabilities not dropped")
            if not (c.get("resources") or {}).get("requests"):
                problems.append(f"{c['name']}: no resource requests")
            env = {e["name"]: e for e in c.get("env", [])}
            svc_kind, cfg_path = serve_args(c.get("args") or [])
            if kind == "Job":
                if (c.get("args") or [None])[0] != "migrate" or "SIGSTEAD_DATABASE_URL" not in env:
                    problems.append("the Job does not run `sigstead migrate` with SIGSTEAD_DATABASE_URL")
                if "PGPASSWORD" not in env:
                    problems.append("the Job has no PGPASSWORD")
                continue
            if svc_kind is None:
                problems.append(f"{c['name']}: does not run `sigstead serve … --config`")
                continue
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            cfg_dir, cfg_file = os.path.split(cfg_path)
            cm = (volumes.get(mounts.get(cfg_dir, ""), {}).get("configMap") or {}).get("name")
            if cm not in configmaps or cfg_file not in configmaps[cm].get("data", {}):
                problems.append(f"{cfg_path} is not in a mounted ConfigMap")
                continue
            cfg = tomllib.loads(configmaps[cm]["data"][cfg_file])
            for p in toml_paths(cfg):
                if not under(p, [m for m in mounts if m != cfg_dir]):
                    problems.append(f"config names {p}, which the container does not mount")
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            port = listen_port(cfg)
            if port is None:
                out("SKIP", f"k8s_{kind.lower()}_{name}_port", f"{cfg_file} has no listen yet (TODO placeholder)")
            elif ports.get("http") != port:
                problems.append(f"containerPort http={ports.get('http')}, config listens on {port}")
            for probe, paths in (("livenessProbe", {"/healthz"}), ("readinessProbe", {"/healthz", "/readyz"})):
                get = (c.get(probe) or {}).get("httpGet") or {}
                if get.get("path") not in paths or get.get("port") not in ("http", port):
                    problems.append(f"{probe} is not an HTTP GET of {sorted(paths)} on the http port")
            if uses_postgres(cfg):
                if "PGPASSWORD" not in env or "secretKeyRef" not in (env["PGPASSWORD"].get("valueFrom") or {}):
                    problems.append("database password: no PGPASSWORD from a Secret")
                # Replicated logs elect one sequencer through the database: several
                # replicas, rolled one at a time, so the log answers throughout.
                if (d["spec"].get("replicas") or 1) < 2 or (d["spec"].get("strategy") or {}).get("type") != "RollingUpdate":
                    problems.append("a log on Postgres must run at least 2 replicas with strategy RollingUpdate")
        check(f"k8s_{kind.lower()}_{name}", problems)


# ------------------------------------------------------------- systemd ---
def parse_unit(path):
    entries = []
    section = None
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            entries.append((section, k.strip(), v.strip()))
    return entries


def cmd_systemd(unit_dir):
    units = sorted(f for f in os.listdir(unit_dir) if f.endswith(".service"))
    for unit in units:
        problems = []
        entries = parse_unit(os.path.join(unit_dir, unit))
        service = [(k, v) for s, k, v in entries if s == "Service"]

        def get(key, service=service):
            return [v for k, v in service if k == key]

        creds = {v.split(":", 1)[0] for v in get("LoadCredential")}
        envs = dict(v.split("=", 1) for v in get("Environment"))
        exec_start = (get("ExecStart") or [""])[0].split()
        if not exec_start or exec_start[0] != "/usr/local/bin/sigstead":
            problems.append("ExecStart is not /usr/local/bin/sigstead")
        if "ProtectSystem" not in dict(service) or dict(service)["ProtectSystem"] != "strict":
            problems.append("ProtectSystem is not strict")
        if not (dict(service).get("DynamicUser") == "yes" or dict(service).get("User")):
            problems.append("neither DynamicUser= nor User=")
        for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
            if dict(service).get(key) != "yes":
                problems.append(f"{key} is not yes")
        if "PGPASSFILE" in envs:
            name = envs["PGPASSFILE"].removeprefix("%d/")
            if name not in creds:
                problems.append(f"PGPASSFILE names credential {name}, which is not loaded")
        kind, cfg_path = serve_args(exec_start[1:])
        if kind:
            local = os.path.join(unit_dir, os.path.basename(cfg_path))
            if not os.path.exists(local):
                out("SKIP", f"systemd_{unit}_config", f"no {rel(local)} (written with the TUF server)")
            else:
                with open(local, "rb") as fh:
                    cfg = tomllib.load(fh)
                prefix = f"/run/credentials/{unit}/"
                for p in toml_paths(cfg):
                    if p.startswith("/run/credentials/"):
                        if not p.startswith(prefix):
                            problems.append(f"{rel(local)} names {p}, another unit's credential")
                        elif p[len(prefix) :] not in creds:
                            problems.append(f"{rel(local)} names credential {p[len(prefix) :]}, not loaded")
                if uses_postgres(cfg) and "PGPASSFILE" not in envs:
                    problems.append("database password: no PGPASSFILE")
        check(f"systemd_{unit}", problems)


# ------------------------------------------------------------ policies ---
def anchored(rx):
    return rx.startswith("^") and rx.endswith("$")


def cmd_policies(policy_dir):
    docs = []
    for f in sorted(os.listdir(policy_dir)):
        if f.endswith((".yaml", ".yml")):
            with open(os.path.join(policy_dir, f)) as fh:
                docs += [(f, d) for d in yaml.safe_load_all(fh) if d and "kind" in d]
    trust_roots = {d["metadata"]["name"] for _, d in docs if d["kind"] == "TrustRoot"}
    for f, d in docs:
        problems = []
        if d["kind"] == "ClusterPolicy":
            for rule in d["spec"]["rules"]:
                for iv in rule.get("verifyImages", []):
                    for aset in iv.get("attestors", []):
                        for entry in aset.get("entries", []):
                            kl = entry.get("keyless")
                            if not kl:
                                continue
                            if not (kl.get("issuer") or kl.get("issuerRegExp")):
                                problems.append("keyless attestor without issuer")
                            if not (kl.get("subject") or kl.get("subjectRegExp")):
                                problems.append("keyless attestor without subject")
                            if kl.get("subjectRegExp") and not anchored(kl["subjectRegExp"]):
                                problems.append("subjectRegExp not anchored with ^…$")
                            url = (kl.get("rekor") or {}).get("url", "")
                            if not url or "sigstore.dev" in url:
                                problems.append("rekor.url unset (Kyverno then uses the public Rekor)")
                            if iv.get("type") == "Cosign":
                                for need, val in (
                                    ("roots", kl.get("roots")),
                                    ("rekor.pubkey", (kl.get("rekor") or {}).get("pubkey")),
                                    ("ctlog.pubkey", (kl.get("ctlog") or {}).get("pubkey")),
                                ):
                                    if not val:
                                        problems.append(f"type Cosign without {need} (falls back to public trust)")
        elif d["kind"] == "ClusterImagePolicy":
            for a in d["spec"].get("authorities", []):
                kl = a.get("keyless")
                if not kl:
                    continue
                if kl.get("trustRootRef") not in trust_roots:
                    problems.append(f"{a.get('name')}: keyless.trustRootRef names no TrustRoot here")
                if (a.get("ctlog") or {}).get("trustRootRef") not in trust_roots:
                    problems.append(f"{a.get('name')}: ctlog.trustRootRef names no TrustRoot here")
                for i in kl.get("identities", []):
                    if i.get("subjectRegExp") and not anchored(i["subjectRegExp"]):
                        problems.append(f"{a.get('name')}: subjectRegExp not anchored with ^…$")
        elif d["kind"] == "TrustRoot":
            remote = d["spec"].get("remote") or d["spec"].get("repository") or {}
            if not remote.get("root"):
                problems.append("no root")
        else:
            continue
        check(f"policy_{d['kind']}_{d['metadata']['name']}", problems)


# ----------------------------------------------------------------- crd ---
def cmd_crd(crd_files, docs_files):
    import jsonschema

    def strict(s):
        if isinstance(s, dict):
            if (
                "properties" in s
                and "additionalProperties" not in s
                and not s.get("x-kubernetes-preserve-unknown-fields")
            ):
                s["additionalProperties"] = False
            for v in s.values():
                strict(v)
        elif isinstance(s, list):
            for v in s:
                strict(v)
        return s

    import gzip

    crds = {}
    for f in crd_files:
        with (gzip.open(f, "rt") if f.endswith(".gz") else open(f)) as fh:
            for d in yaml.safe_load_all(fh):
                if d and d.get("kind") == "CustomResourceDefinition":
                    for v in d["spec"]["versions"]:
                        key = (f"{d['spec']['group']}/{v['name']}", d["spec"]["names"]["kind"])
                        crds[key] = strict(v["schema"]["openAPIV3Schema"])
    for f in docs_files:
        with open(f) as fh:
            for doc in yaml.safe_load_all(fh):
                if not doc or "apiVersion" not in doc:
                    continue
                name = f"crd_schema {doc['kind']}/{doc['metadata']['name']}"
                schema = crds.get((doc["apiVersion"], doc["kind"]))
                if schema is None:
                    out("SKIP", name, f"no CRD for {doc['apiVersion']} {doc['kind']}")
                    continue
                schema = dict(schema)
                props = dict(schema.get("properties", {}))
                props.update(apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"})
                schema["properties"] = props
                errs = jsonschema.Draft7Validator(schema).iter_errors(doc)
                check(name, [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errs])


# ------------------------------------------------------------- configs ---
def cmd_configs(binary, files):
    """Runs `sigstead serve KIND --config COPY` for each config, with listen
    moved to 127.0.0.1:0. A config the binary accepts gets as far as opening
    its key, CA chain or database files, which do not exist here; a refused
    one stops with a TOML or validation error."""
    help_text = subprocess.run([binary, "serve", "--help"], check=False, capture_output=True, text=True).stdout
    work = tempfile.mkdtemp(prefix="deploy-lint-configs-")
    try:
        for f in files:
            name = f"config_accepted {rel(f)}"
            kind = os.path.basename(f).split(".")[0]
            if not re.search(rf"^\s+{kind}\s", help_text, re.MULTILINE):
                out("SKIP", name, f"this binary has no `serve {kind}` yet")
                continue
            with open(f) as fh:
                text = fh.read()
            text = re.sub(r"(?m)^listen\s*=.*$", 'listen = "127.0.0.1:0"', text)
            d = os.path.join(work, str(abs(hash(f))))
            os.makedirs(d)
            copy = os.path.join(d, os.path.basename(f))
            with open(copy, "w") as fh:
                fh.write(text)
            env = dict(os.environ, RUST_BACKTRACE="0", RUST_LOG="warn")
            env.pop("PGPASSFILE", None)
            for var in re.findall(r'(?m)^\s*(?:password_env|pin_env)\s*=\s*"([^"]+)"', text):
                env[var] = "deploy-lint-not-a-password"
            proc = subprocess.Popen(
                [binary, "serve", kind, "--config", copy],
                cwd=d,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                output, _ = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.communicate()
                out("PASS", name)  # it even started
                continue
            lines = [ln for ln in output.splitlines() if ln.startswith("Error:")] or output.splitlines()
            first = lines[0] if lines else f"exit {proc.returncode} without output"
            if "No such file or directory" in first:
                out("PASS", name)
            else:
                out("FAIL", name, first)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "yaml":
        cmd_yaml(args)
    elif cmd == "compose":
        cmd_compose(args[0])
    elif cmd == "k8s":
        cmd_k8s(args[0], args[1])
    elif cmd == "systemd":
        cmd_systemd(args[0])
    elif cmd == "policies":
        cmd_policies(args[0])
    elif cmd == "crd":
        cmd_crd(args[0].split(","), args[1:])
    elif cmd == "configs":
        cmd_configs(args[0], args[1:])
    else:
        sys.exit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main(sys.argv)
