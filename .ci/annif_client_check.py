"""Annif's own Python client (PyPI `annif-client`, written by Annif's authors, not here) against a running
`tagger serve`: it lists projects, suggests for texts and for a batch, and every answer must equal what
`tagger predict` gives for the same model, texts, limit and threshold.

    python annif_client_check.py API_BASE PROJECT MODEL_FILE TAGGER_BINARY
"""
import json
import subprocess
import sys
import tempfile

from annif_client import AnnifClient

api_base, project, model_file, tagger = sys.argv[1:5]
client = AnnifClient(api_base=api_base)

info = client.api_info
assert "Annif REST API" in info["title"], info
projects = {p["project_id"]: p for p in client.projects}
assert project in projects, projects
assert client.get_project(project)["project_id"] == project

texts = [
    "Oil prices rose sharply after OPEC agreed to cut crude output by one million barrels a day.",
    "The central bank raised interest rates by half a point to curb inflation, and the dollar firmed.",
    "Wheat and corn exports to the Soviet Union increased, the Agriculture Department said.",
]
limit = 5
with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
    for i, t in enumerate(texts):
        f.write(json.dumps({"id": f"d{i}", "text": t}) + "\n")
out = subprocess.run(
    [tagger, "predict", "--model", model_file, "--top-k", str(limit), "--min-score", "0", f.name],
    capture_output=True, text=True, check=True,
).stdout
expected = [[(t["label"], round(t["score"], 5)) for t in json.loads(line)["tags"]] for line in out.splitlines()]
assert len(expected) == len(texts) and all(expected), out


def pairs(results):
    return [(r["label"], round(r["score"], 5)) for r in results]


for text, want in zip(texts, expected):
    got = client.suggest(project_id=project, text=text, limit=limit, threshold=0)
    assert pairs(got) == want, (got, want)
    assert all(r["uri"] for r in got)

documents = [{"text": t, "document_id": f"doc-{i}"} for i, t in enumerate(texts)]
batch = client.suggest_batch(project_id=project, documents=documents, limit=limit, threshold=0)
assert [d["document_id"] for d in batch] == [d["document_id"] for d in documents], batch
for d, want in zip(batch, expected):
    assert pairs(d["results"]) == want, (d, want)

try:
    client.get_project("no-such-project")
    raise AssertionError("an unknown project was found")
except ValueError as e:
    assert "not found" in str(e), e

print(f"annif-client: {len(projects)} projects, {len(texts)} suggestions and a batch of {len(documents)} "
      f"from {project!r} equal tagger predict")
