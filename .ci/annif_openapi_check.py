"""tagger's Annif REST API checked against Annif's own OpenAPI document (`annif/openapi/annif.yaml`, read from the
PyPI `annif` wheel, not copied here) with tools no one here wrote:

1. openapi-core validates the response to each request below (every operation, its answers and its errors:
   unknown project, missing text, limit and threshold out of range, a 10 MB text, no body, a wrong content
   type, too many documents, learn, language detection) against the document;
2. schemathesis generates a bounded number of requests from the document (fixed seed, loopback only) and
   checks that none gets a server error, an undocumented status, a wrong content type or a body that breaks
   the schema, and that requests the schema forbids are refused.

    python annif_openapi_check.py ANNIF_YAML API_BASE PROJECT [MAX_EXAMPLES]

One addition to the document, stated here and printed: Annif's own server (connexion) answers 415 with a
problem document when a body has the wrong content type, a status its document does not list; tagger answers
the same, so the copy the checks use lists 415 beside 400 for the operations that take a body.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

spec_path, api_base, project = sys.argv[1:4]
max_examples = int(sys.argv[4]) if len(sys.argv) > 4 else 30
api_base = api_base.rstrip("/")

with open(spec_path) as f:
    spec = yaml.safe_load(f)
assert spec["info"]["title"] == "Annif REST API", spec["info"]
# YAML reads the unquoted status keys of detect-language (`200:`) as integers; OpenAPI's keys are strings.
for ops in spec["paths"].values():
    for op in ops.values():
        op["responses"] = {str(k): v for k, v in op["responses"].items()}

# Annif's 415 (see above), added to each operation that takes a body.
spec = copy.deepcopy(spec)
added = []
for path, ops in spec["paths"].items():
    for method, op in ops.items():
        if "requestBody" in op:
            op["responses"].setdefault(
                "415",
                {
                    "description": "Unsupported Media Type (Annif's server answers so; its document omits it)",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                },
            )
            added.append(f"{method.upper()} {path}")
print(f"annif.yaml {spec['info']['version']}: 415 added to {len(added)} operations that take a body")

local = copy.deepcopy(spec)
local["servers"] = [{"url": api_base}]
# openapi-core reads JSON bodies by media type; problem documents are JSON too (RFC 7807).
openapi = OpenAPI.from_dict(local, config=Config(extra_media_type_deserializers={"application/problem+json": json.loads}))

FORM = "application/x-www-form-urlencoded"
text = "Oil prices rose sharply after OPEC agreed to cut crude output by one million barrels a day."
big = "a" * 10_000_000
P = f"{api_base}/projects/{project}"
cases = [
    # (method, url, kwargs, expected status)
    ("GET", f"{api_base}/", {}, 200),
    ("GET", f"{api_base}/vocabs", {}, 200),
    ("GET", f"{api_base}/projects", {}, 200),
    ("GET", P, {}, 200),
    ("GET", f"{api_base}/projects/no-such-project", {}, 404),
    ("POST", f"{P}/suggest", {"data": {"text": text, "limit": 3}}, 200),
    ("POST", f"{P}/suggest", {"data": {"text": text, "limit": 0}}, 200),
    ("POST", f"{P}/suggest", {"data": {"text": text, "threshold": 0.5, "metadata_title": "x"}}, 200),
    ("POST", f"{P}/suggest", {"data": {"text": ""}}, 200),
    ("POST", f"{P}/suggest", {"data": {"limit": 3}}, 400),
    ("POST", f"{P}/suggest", {"data": {"text": text, "limit": -1}}, 400),
    ("POST", f"{P}/suggest", {"data": {"text": text, "limit": "many"}}, 400),
    ("POST", f"{P}/suggest", {"data": {"text": text, "threshold": 2}}, 400),
    ("POST", f"{api_base}/projects/no-such-project/suggest", {"data": {"text": text}}, 404),
    ("POST", f"{P}/suggest", {"data": {"text": big}}, 413),
    ("POST", f"{P}/suggest", {}, 400),
    ("POST", f"{P}/suggest", {"json": {"text": text}}, 415),
    ("POST", f"{P}/suggest-batch?limit=2", {"json": {"documents": [{"text": text, "document_id": "d1"}, {"text": "x"}]}}, 200),
    ("POST", f"{P}/suggest-batch", {"json": {"documents": []}}, 200),
    ("POST", f"{P}/suggest-batch", {"json": {"documents": [{"text": text}] * 33}}, 400),
    ("POST", f"{P}/suggest-batch", {"json": {"documents": [{"document_id": "no text"}]}}, 400),
    ("POST", f"{P}/suggest-batch?threshold=x", {"json": {"documents": [{"text": text}]}}, 400),
    ("POST", f"{api_base}/projects/no-such-project/suggest-batch", {"json": {"documents": [{"text": text}]}}, 404),
    ("POST", f"{P}/suggest-batch", {"json": {"documents": [{"text": big}]}}, 413),
    ("POST", f"{P}/suggest-batch", {"data": "documents"}, 415),
    ("POST", f"{P}/learn", {"json": [{"text": text, "subjects": [{"uri": "http://example.org/x"}]}]}, 403),
    ("POST", f"{api_base}/projects/no-such-project/learn", {"json": []}, 404),
    ("POST", f"{api_base}/detect-language", {"json": {"text": "The quick brown fox jumps over the lazy dog.", "languages": ["en", "fi"]}}, 200),
    ("POST", f"{api_base}/detect-language", {"json": {"text": "", "languages": ["en"]}}, 200),
    ("POST", f"{api_base}/detect-language", {"json": {"text": text, "languages": ["xx"]}}, 400),
    ("POST", f"{api_base}/detect-language", {"json": {"text": text, "languages": []}}, 400),
]
session = requests.Session()
for method, url, kwargs, want in cases:
    resp = session.request(method, url, timeout=60, **kwargs)
    what = f"{method} {url.replace(api_base, '')} {str(kwargs)[:60]}"
    assert resp.status_code == want, (what, resp.status_code, resp.text[:300])
    # openapi-core matches the request to its operation and checks status, content type and body.
    openapi.validate_response(RequestsOpenAPIRequest(resp.request), RequestsOpenAPIResponse(resp))
print(f"openapi-core: {len(cases)} responses (every operation, {sum(c[3] >= 400 for c in cases)} of them errors) "
      "valid against annif.yaml")

# schemathesis: generated requests, bounded and seeded.
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    yaml.safe_dump(spec, f)
checks = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
])
st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
cmd = [st, "run", f.name, "--url", api_base, "--checks", checks, "--max-examples", str(max_examples),
       "--seed", "20261201", "--workers", "1", "--request-timeout", "60", "--no-color",
       "--generation-database", "none"]
print("$", " ".join(cmd))
run = subprocess.run(cmd, capture_output=True, text=True)
out = run.stdout + run.stderr
lines = out.splitlines()
start = next((i for i, line in enumerate(lines) if " SUMMARY " in line), max(0, len(lines) - 40))
print("\n".join(lines[start:]))
os.unlink(f.name)
if run.returncode != 0:
    print(out[-20000:], file=sys.stderr)
    sys.exit(f"schemathesis found problems (exit {run.returncode})")
