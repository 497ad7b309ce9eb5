"""Peers on the same corpus and split as tagger, measured in the same run (single thread for the peers).

    python peers.py CORPUS_DIR en|zh SYSTEM      # SYSTEM: svc | lr | fasttext | omikuji

One system per process, so each line's peak RSS is that system's own (Python and the corpus included).
* svc / lr: scikit-learn TF-IDF (unigrams, sublinear tf) + one-vs-rest LinearSVC (C=1) / LogisticRegression (C=1,
  liblinear), each "plain" (decision at 0) and "tuned" (per-label thresholds, F1-optimal cut of 5-fold
  out-of-fold decision values — the decision rule tagger uses); both keep at least the top label.
* fasttext: supervised, loss=ova, word bigrams, 30 epochs; labels with probability >= 0.5, at least the top.
* omikuji: default hyper-parameters on the same TF-IDF features; labels with score >= 0.5, at least the top.
Chinese text is segmented with jieba for the peers. Prints one JSON line per system variant.
"""
import json
import os
import resource
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC


def read_dir(path):
    docs = []
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), encoding="utf-8") as f:
            raw = f.read()
        header, _, body = raw.partition("\n")
        labels = [l.strip() for l in header[3:].split("|") if l.strip()]
        docs.append((labels, body.lstrip("\n")))
    return docs


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main(corpus_dir, chinese, system):
    train = read_dir(os.path.join(corpus_dir, "train"))
    test = read_dir(os.path.join(corpus_dir, "test"))
    if chinese:
        import jieba
        jieba.setLogLevel(60)
        seg = lambda t: " ".join(jieba.lcut(t))
        token_pattern = r"(?u)\b\w+\b"
    else:
        seg = lambda t: t
        token_pattern = r"(?u)\b\w\w+\b"
    mlb = MultiLabelBinarizer()
    y_train = mlb.fit_transform([l for l, _ in train])
    classes = list(mlb.classes_)
    known = set(classes)
    gold_labels = sorted({l for ls, _ in test for l in ls} | known)
    y_test = MultiLabelBinarizer(classes=gold_labels).fit_transform([l for l, _ in test])
    col = {c: i for i, c in enumerate(gold_labels)}
    in_gold = y_test.sum(axis=0) > 0

    def report(name, secs, pred_small, ranked, dps):
        """pred_small: docs x known labels 0/1; ranked: per doc, known-label ids best first (at least 5)."""
        pred = np.zeros(y_test.shape, dtype=int)
        for j, c in enumerate(classes):
            pred[:, col[c]] = pred_small[:, j]
        micro = f1_score(y_test, pred, average="micro", zero_division=0)
        per = f1_score(y_test, pred, average=None, zero_division=0)
        p_at = {k: float(np.mean([sum(y_test[i, col[classes[j]]] for j in r[:k]) / k for i, r in enumerate(ranked)]))
                for k in (1, 3, 5)}
        print(json.dumps({"system": name, "train_seconds": round(secs, 2), "micro_f1": round(micro, 4),
                          "macro_f1": round(float(per[in_gold].mean()), 4), "p_at_1": round(p_at[1], 4),
                          "p_at_3": round(p_at[3], 4), "p_at_5": round(p_at[5], 4),
                          "predict_docs_per_sec": round(dps), "peak_rss_mb": peak_rss_mb()}), flush=True)

    if system in ("svc", "lr"):
        make, label = {
            "svc": (lambda: LinearSVC(C=1.0), "LinearSVC"),
            "lr": (lambda: LogisticRegression(C=1.0, solver="liblinear"), "LogisticRegression"),
        }[system]
        t0 = time.perf_counter()
        vec = TfidfVectorizer(sublinear_tf=True, token_pattern=token_pattern)
        x_train = vec.fit_transform([seg(t) for _, t in train])
        clf = OneVsRestClassifier(make(), n_jobs=1).fit(x_train, y_train)
        plain_fit = time.perf_counter() - t0
        # 5-fold out-of-fold decision values -> per-label F1-optimal thresholds.
        oof = np.zeros(y_train.shape)
        for tr, va in KFold(5, shuffle=True, random_state=0).split(x_train):
            m = OneVsRestClassifier(make(), n_jobs=1).fit(x_train[tr], y_train[tr])
            oof[va] = m.decision_function(x_train[va])
        thr = np.zeros(y_train.shape[1])
        for j in range(y_train.shape[1]):
            s, y = oof[:, j], y_train[:, j]
            order = np.argsort(-s)
            tp = np.cumsum(y[order])
            fp = np.cumsum(1 - y[order])
            f1 = 2 * tp / (tp + fp + y.sum())
            k = int(np.argmax(f1))
            thr[j] = (s[order[k]] + s[order[k + 1]]) / 2 if k + 1 < len(order) else s[order[k]] - 1e-6
        tuned_fit = time.perf_counter() - t0
        # Prediction: raw text in (segmentation included), scores out.
        t = time.perf_counter()
        scores = clf.decision_function(vec.transform([seg(t) for _, t in test]))
        dps = len(test) / (time.perf_counter() - t)
        ranked = np.argsort(-scores, axis=1)[:, :5].tolist()
        top = scores.argmax(axis=1)
        for name, pred, secs in [(f"{label} plain", scores > 0, plain_fit),
                                 (f"{label} tuned (5-fold thresholds)", scores > thr, tuned_fit)]:
            pred = pred.astype(int)
            pred[np.arange(len(top)), top] = 1
            report(name, secs, pred, ranked, dps)
    elif system == "fasttext":
        import re
        import tempfile
        import fasttext
        norm = lambda t: " ".join(re.findall(r"\w+", seg(t).lower()))
        lab = lambda l: "__label__" + l.replace(" ", "_")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            for ls, t in train:
                f.write(" ".join(lab(l) for l in ls) + " " + norm(t) + "\n")
            ft_path = f.name
        t0 = time.perf_counter()
        ft = fasttext.train_supervised(ft_path, loss="ova", epoch=30, lr=0.5, wordNgrams=2, thread=1, verbose=0)
        secs = time.perf_counter() - t0
        os.unlink(ft_path)
        back = {lab(c): j for j, c in enumerate(classes)}
        t = time.perf_counter()
        out = [ft.predict(norm(x), k=-1, threshold=0.0) for _, x in test]
        dps = len(test) / (time.perf_counter() - t)
        pred = np.zeros((len(test), len(classes)), dtype=int)
        ranked = []
        for i, (labels, probs) in enumerate(out):
            ids = [back[l] for l in labels if l in back]
            ranked.append(ids[:5])
            for k, (l, p) in enumerate(zip(labels, probs)):
                if l in back and (p >= 0.5 or k == 0):
                    pred[i, back[l]] = 1
        report("fastText (ova, bigrams, 30 epochs)", secs, pred, ranked, dps)
    elif system == "omikuji":
        import tempfile
        import omikuji
        vec = TfidfVectorizer(sublinear_tf=True, token_pattern=token_pattern)
        x_train = vec.fit_transform([seg(t) for _, t in train])
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(f"{x_train.shape[0]} {x_train.shape[1]} {len(classes)}\n")
            for i in range(x_train.shape[0]):
                row = x_train.getrow(i)
                labels = ",".join(str(j) for j in np.flatnonzero(y_train[i]))
                feats = " ".join(f"{j}:{v:.6f}" for j, v in zip(row.indices, row.data))
                f.write(f"{labels} {feats}\n")
            om_path = f.name
        t0 = time.perf_counter()
        om = omikuji.Model.train_on_data(om_path, omikuji.Model.default_hyper_param(), n_threads=1)
        secs = time.perf_counter() - t0
        os.unlink(om_path)
        t = time.perf_counter()
        xt = vec.transform([seg(x) for _, x in test])
        out = [om.predict(list(zip(xt.getrow(i).indices.tolist(), xt.getrow(i).data.tolist())), top_k=10)
               for i in range(len(test))]
        dps = len(test) / (time.perf_counter() - t)
        pred = np.zeros((len(test), len(classes)), dtype=int)
        for i, o in enumerate(out):
            for k, (j, p) in enumerate(o):
                if p >= 0.5 or k == 0:
                    pred[i, j] = 1
        report("Omikuji (default)", secs, pred, [[j for j, _ in o][:5] for o in out], dps)
    else:
        sys.exit(f"unknown system {system!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "zh", sys.argv[3])
