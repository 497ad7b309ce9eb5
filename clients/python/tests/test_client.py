"""tagger-client against real `tagger serve` processes: answers equal `tagger predict`'s for the same model and
texts; batches, streams and the asyncio client agree with single calls; errors arrive as TaggerError with the
server's status code; the auth token and TLS work.

The tagger binary is $TAGGER_BIN (default: the repository's target/release/tagger) and the model repository
$TAGGER_MODELS (default: the repository's models/, whose "reuters" model the tests tag with). The servers are
started here, on free loopback ports, and stopped at the end.
"""
import asyncio
import json
import math
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import grpc
import pytest

from tagger_client import AsyncClient, Client, TaggerError

ROOT = pathlib.Path(__file__).resolve().parents[3]
TAGGER = os.environ.get("TAGGER_BIN", str(ROOT / "target" / "release" / "tagger"))
MODELS = os.environ.get("TAGGER_MODELS", str(ROOT / "models"))
MODEL = "reuters"
TEXTS = [
    "Oil prices rose sharply after OPEC agreed to cut crude output by one million barrels a day.",
    "The central bank raised interest rates by half a point to curb inflation, and the dollar firmed.",
    "Wheat and corn exports to the Soviet Union increased, the Agriculture Department said.",
    "",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `tagger serve` process on a free port, ready when it answers ListModels."""

    def __init__(self, *extra, host="127.0.0.1", client_kwargs=None):
        self.port = free_port()
        self.address = f"{host}:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [TAGGER, "serve", "--models", MODELS, "--addr", f"127.0.0.1:{self.port}", "--metrics-addr", "off",
             *extra],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        with Client(self.address, timeout=2, **(client_kwargs or {})) as c:
            while True:
                try:
                    c.list_models()
                    return
                except TaggerError as e:
                    if e.code == grpc.StatusCode.UNAUTHENTICATED:
                        return
                    if self.proc.poll() is not None or time.time() > deadline:
                        self.log.seek(0)
                        raise RuntimeError(f"tagger serve did not start: {self.log.read().decode()[-2000:]}")
                    time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def server():
    if not os.path.exists(TAGGER):
        pytest.fail(f"no tagger binary at {TAGGER}: build it (cargo build --release -p tagger) or set TAGGER_BIN")
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def predicted():
    """`tagger predict` on TEXTS: the model's rule, and the 5 best with any score."""
    model_file = next(pathlib.Path(MODELS, MODEL).glob("*/model.tgm"))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for i, t in enumerate(TEXTS):
            f.write(json.dumps({"id": f"d{i}", "text": t}) + "\n")
    out = {}
    for key, args in {"rule": [], "top5": ["--top-k", "5", "--min-score", "0"]}.items():
        lines = subprocess.run([TAGGER, "predict", "--model", str(model_file), *args, f.name],
                               capture_output=True, text=True, check=True).stdout.splitlines()
        out[key] = [[(t["label"], t["score"]) for t in json.loads(line)["tags"]] for line in lines]
    os.unlink(f.name)
    return out


def same(result, want):
    got = [(t.label, t.score) for t in result.tags]
    assert [g[0] for g in got] == [w[0] for w in want], (got, want)
    for (_, a), (_, b) in zip(got, want):
        assert math.isclose(a, b, rel_tol=1e-6), (got, want)


def test_tag_answers_equal_tagger_predict(server, predicted):
    with Client(server.address, model=MODEL) as c:
        for i, text in enumerate(TEXTS):
            same(c.tag(text), predicted["rule"][i])
            r = c.tag(text, id=f"d{i}", top_k=5, min_score=0.0)
            same(r, predicted["top5"][i])
            assert r.id == f"d{i}" and r.model == MODEL and r.model_version
    assert predicted["rule"][0] and predicted["top5"][0], "the oil text gets tags"


def test_batch_and_stream_answer_as_single_calls(server):
    with Client(server.address, model=MODEL) as c:
        single = [c.tag(t, id=str(i), top_k=3) for i, t in enumerate(TEXTS)]
        docs = [(str(i), t) for i, t in enumerate(TEXTS)]
        assert c.tag_batch(docs, top_k=3) == single
        # A generator is read lazily; results come back in order.
        assert list(c.tag_stream((d for d in docs), top_k=3)) == single
        assert [r.id for r in c.tag_batch(TEXTS)] == ["", "", "", ""]


def test_explain_gives_spans_inside_the_text(server):
    text = "Crude oil prices: OPEC — the cartel — cut crude output; oil traders reacted. Öljy."
    with Client(server.address, model=MODEL) as c:
        r = c.tag(text, top_k=2, explain=True)
    evidence = [e for t in r.tags for e in t.evidence]
    assert evidence, r
    for e in evidence:
        for (s, end), snippet in zip(e.char_spans(text), e.snippets(text)):
            assert text[s:end] == snippet and snippet.strip()


def test_models_and_errors(server):
    with Client(server.address) as c:
        models = c.list_models()
        assert MODEL in [m.name for m in models]
        assert sum(m.is_default for m in models) == 1
        m = c.get_model(MODEL)
        assert m.label_count == len(m.labels) > 0 and m.training_metadata
        with pytest.raises(TaggerError) as e:
            c.tag("x", model="no-such-model")
        assert e.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(TaggerError) as e:
            c.tag("x", model=MODEL, min_score=2.0)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "min_score" in e.value.details
        with pytest.raises(TaggerError) as e:
            c.tag_batch([TEXTS[0]] * 2000, model=MODEL)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(ValueError):
            c.tag("x", top_k=-1)


def test_deadline_exceeded():
    # A server that holds every batch for 2 s (--batch-strict-delay) cannot answer a 0.2 s call in time, however
    # fast it tags: the call ends DEADLINE_EXCEEDED (a tiny timeout on a prompt server raced tagging instead).
    s = Server("--batch-strict-delay", "--batch-max-delay-us", "2000000")
    try:
        with Client(s.address, model=MODEL) as c:
            with pytest.raises(TaggerError) as e:
                c.tag(TEXTS[0], timeout=0.2)
            assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
            assert c.tag(TEXTS[0], top_k=1, timeout=10).tags
    finally:
        s.stop()


def test_auth_token():
    s = Server("--auth-token", "s3cret")
    try:
        with Client(s.address, model=MODEL) as c:
            with pytest.raises(TaggerError) as e:
                c.tag(TEXTS[0])
            assert e.value.code == grpc.StatusCode.UNAUTHENTICATED
        with Client(s.address, model=MODEL, token="s3cret") as c:
            assert c.tag(TEXTS[0], top_k=1).tags
    finally:
        s.stop()


def test_tls():
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    with tempfile.TemporaryDirectory() as d:
        cert, key = pathlib.Path(d, "cert.pem"), pathlib.Path(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key),
                        "-out", str(cert)], check=True, capture_output=True)
        roots = cert.read_bytes()
        s = Server("--tls-cert", str(cert), "--tls-key", str(key), host="localhost",
                   client_kwargs={"root_certificates": roots})
        try:
            with Client(s.address, model=MODEL, root_certificates=roots) as c:
                assert c.tag(TEXTS[0], top_k=1).tags
            with Client(s.address, model=MODEL, timeout=5) as plain:
                with pytest.raises(TaggerError) as e:
                    plain.tag(TEXTS[0])
                assert e.value.code == grpc.StatusCode.UNAVAILABLE
        finally:
            s.stop()


def test_asyncio_client_answers_as_the_blocking_one(server):
    with Client(server.address, model=MODEL) as c:
        want = [c.tag(t, id=str(i), top_k=3) for i, t in enumerate(TEXTS)]

    async def main():
        async with AsyncClient(server.address, model=MODEL) as a:
            one = [await a.tag(t, id=str(i), top_k=3) for i, t in enumerate(TEXTS)]
            batch = await a.tag_batch([(str(i), t) for i, t in enumerate(TEXTS)], top_k=3)

            async def docs():
                for i, t in enumerate(TEXTS):
                    yield (str(i), t)

            stream = [r async for r in a.tag_stream(docs(), top_k=3)]
            models = await a.list_models()
            with pytest.raises(TaggerError) as e:
                await a.tag("x", model="no-such-model")
            assert e.value.code == grpc.StatusCode.NOT_FOUND
            return one, batch, stream, models

    one, batch, stream, models = asyncio.run(main())
    assert one == want and batch == want and stream == want
    assert MODEL in [m.name for m in models]
