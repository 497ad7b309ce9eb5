"""One HTTP client for both servers: suggest-batch throughput of Annif's REST API as tagger serves it and as
Annif's own `annif run` serves it, on the same documents, from the same client, on the same machine.

    python3 annif_rest_client.py DOC_DIR OUT_JSONL SYSTEM=BASE_URL:PROJECT...

DOC_DIR is an Annif document directory (NAME.txt); its texts are sent in `suggest-batch` calls of 32 documents
(Annif's maximum) with `limit=10`, over one keep-alive connection per client thread (standard library only, so
the client costs the same for both servers). For each system and each concurrency (1 and 4 client threads):
one warm-up pass over the documents (Annif loads a project on its first request), then passes over all the
documents until at least MIN_SECONDS have gone by. docs/s = documents answered / wall seconds; latency is per
call. Every answer must have one result list per document sent.
"""
import http.client
import json
import pathlib
import statistics
import sys
import threading
import time
import urllib.parse

MIN_SECONDS = 20.0
BATCH = 32
LIMIT = 10

doc_dir, out_path = pathlib.Path(sys.argv[1]), sys.argv[2]
systems = []
for arg in sys.argv[3:]:
    name, rest = arg.split("=", 1)
    base, project = rest.rsplit(":", 1)
    systems.append((name, base.rstrip("/"), project))

texts = [p.read_text(encoding="utf-8") for p in sorted(doc_dir.glob("*.txt"))]
batches = [texts[i:i + BATCH] for i in range(0, len(texts), BATCH)]
bodies = [json.dumps({"documents": [{"text": t, "document_id": str(i)} for i, t in enumerate(b)]}).encode()
          for b in batches]


def call(conn, path, body, want):
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{path}: HTTP {resp.status}: {data[:300]!r}")
    answer = json.loads(data)
    if len(answer) != want or not all("results" in a for a in answer):
        raise RuntimeError(f"{path}: {len(answer)} answers for {want} documents")
    return sum(len(a["results"]) for a in answer)


def run(base, project, threads, min_seconds):
    """Passes over all batches, split across `threads` client threads, until min_seconds have gone by."""
    url = urllib.parse.urlsplit(base)
    path = f"{url.path}/projects/{project}/suggest-batch?limit={LIMIT}"
    latencies, docs, suggestions, errors = [], [0], [0], []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + min_seconds

    def worker(k):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        try:
            while True:
                for j in range(k, len(bodies), threads):
                    t0 = time.perf_counter()
                    n = call(conn, path, bodies[j], len(batches[j]))
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        docs[0] += len(batches[j])
                        suggestions[0] += n
                if time.perf_counter() >= deadline:
                    return
        except Exception as e:  # reported below; the measurement is void
            errors.append(repr(e))
        finally:
            conn.close()

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(errors[0])
    latencies.sort()
    return {
        "docs": docs[0], "seconds": round(wall, 3), "docs_per_sec": round(docs[0] / wall, 1),
        "calls": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
        "suggestions_per_doc": round(suggestions[0] / max(docs[0], 1), 2),
    }


with open(out_path, "w") as out:
    for name, base, project in systems:
        for threads in (1, 4):
            run(base, project, threads, 0.0)  # warm-up: one pass
            r = run(base, project, threads, MIN_SECONDS)
            row = {"system": name, "project": project, "client_threads": threads, "batch": BATCH,
                   "limit": LIMIT, "documents": len(texts), **r}
            print(json.dumps(row), flush=True)
            out.write(json.dumps(row) + "\n")
