"""Peers on the same corpus and split as tagger, measured in the same run (single thread for the peers).

scikit-learn TF-IDF (unigrams, sublinear tf) + one-vs-rest LinearSVC (C=1):
  * plain: decision at 0, at least the top label;
  * tuned: per-label thresholds tuned on 5-fold out-of-fold decision values (F1-optimal cut) plus at least the
    top label — the decision rule tagger uses.
Chinese text is segmented with jieba for the peers (as the issue specifies). Prints one JSON line per system.
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC
from sklearn.metrics import f1_score


def read_dir(path):
    docs = []
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), encoding="utf-8") as f:
            raw = f.read()
        header, _, body = raw.partition("\n")
        labels = [l.strip() for l in header[3:].split("|") if l.strip()]
        docs.append((labels, body.lstrip("\n")))
    return docs


def main(corpus_dir, chinese):
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
    t0 = time.perf_counter()
    x_train_txt = [seg(t) for _, t in train]
    mlb = MultiLabelBinarizer()
    y_train = mlb.fit_transform([l for l, _ in train])
    vec = TfidfVectorizer(sublinear_tf=True, token_pattern=token_pattern)
    x_train = vec.fit_transform(x_train_txt)
    clf = OneVsRestClassifier(LinearSVC(C=1.0), n_jobs=1).fit(x_train, y_train)
    plain_fit = time.perf_counter() - t0

    # 5-fold out-of-fold decision values -> per-label F1-optimal thresholds.
    oof = np.zeros(y_train.shape)
    for tr, va in KFold(5, shuffle=True, random_state=0).split(x_train):
        m = OneVsRestClassifier(LinearSVC(C=1.0), n_jobs=1).fit(x_train[tr], y_train[tr])
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

    x_test = vec.transform([seg(t) for _, t in test])
    scores = clf.decision_function(x_test)
    known = set(mlb.classes_)
    gold_labels = sorted({l for ls, _ in test for l in ls} | known)
    mlb2 = MultiLabelBinarizer(classes=gold_labels)
    y_test = mlb2.fit_transform([l for l, _ in test])
    col = {c: i for i, c in enumerate(gold_labels)}
    in_gold = y_test.sum(axis=0) > 0

    def evaluate(pred_small):
        pred = np.zeros(y_test.shape, dtype=int)
        for j, c in enumerate(mlb.classes_):
            pred[:, col[c]] = pred_small[:, j]
        micro = f1_score(y_test, pred, average="micro", zero_division=0)
        per = f1_score(y_test, pred, average=None, zero_division=0)
        return micro, float(per[in_gold].mean())

    def at_least_top(pred):
        top = scores.argmax(axis=1)
        pred[np.arange(len(top)), top] = 1
        return pred

    results = []
    plain = at_least_top((scores > 0).astype(int))
    tuned = at_least_top((scores > thr).astype(int))
    p1 = float(np.mean([y_test[i, col[mlb.classes_[scores[i].argmax()]]] for i in range(len(test))]))
    # Prediction speed of the LinearSVC pipeline: raw text in (segmentation included), scores out.
    t = time.perf_counter()
    clf.decision_function(vec.transform([seg(t) for _, t in test]))
    svc_dps = len(test) / (time.perf_counter() - t)
    for name, pred, secs in [("LinearSVC plain", plain, plain_fit), ("LinearSVC tuned (5-fold thresholds)", tuned, tuned_fit)]:
        micro, macro = evaluate(pred)
        results.append({"system": name, "train_seconds": round(secs, 2), "micro_f1": round(micro, 4),
                        "macro_f1": round(macro, 4), "p_at_1": round(p1, 4), "predict_docs_per_sec": round(svc_dps)})

    # fastText, one-vs-all loss, word bigrams; labels with probability >= 0.5, at least the top one.
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
    ft_secs = time.perf_counter() - t0
    os.unlink(ft_path)
    back = {lab(c): c for c in mlb.classes_}
    t = time.perf_counter()
    ft_out = [ft.predict(norm(x), k=-1, threshold=0.0) for _, x in test]
    ft_dps = len(test) / (time.perf_counter() - t)
    pred = np.zeros((len(test), len(mlb.classes_)), dtype=int)
    cls = {c: j for j, c in enumerate(mlb.classes_)}
    top1 = 0
    for i, (labels, probs) in enumerate(ft_out):
        for k, (l, p) in enumerate(zip(labels, probs)):
            if l in back and (p >= 0.5 or k == 0):
                pred[i, cls[back[l]]] = 1
        if labels and labels[0] in back:
            top1 += y_test[i, col[back[labels[0]]]]
    micro, macro = evaluate(pred)
    results.append({"system": "fastText (ova, bigrams, 30 epochs)", "train_seconds": round(ft_secs, 2),
                    "micro_f1": round(micro, 4), "macro_f1": round(macro, 4), "p_at_1": round(top1 / len(test), 4),
                    "predict_docs_per_sec": round(ft_dps)})

    # Omikuji (Parabel-like trees) on the same TF-IDF features; labels with score >= 0.5, at least the top one.
    import omikuji
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(f"{x_train.shape[0]} {x_train.shape[1]} {len(mlb.classes_)}\n")
        for i in range(x_train.shape[0]):
            row = x_train.getrow(i)
            labels = ",".join(str(j) for j in np.flatnonzero(y_train[i]))
            feats = " ".join(f"{j}:{v:.6f}" for j, v in zip(row.indices, row.data))
            f.write(f"{labels} {feats}\n")
        om_path = f.name
    t0 = time.perf_counter()
    hp = omikuji.Model.default_hyper_param()
    om = omikuji.Model.train_on_data(om_path, hp, n_threads=1)
    om_secs = time.perf_counter() - t0
    os.unlink(om_path)
    t = time.perf_counter()
    xt = vec.transform([seg(x) for _, x in test])
    om_out = [om.predict(list(zip(xt.getrow(i).indices.tolist(), xt.getrow(i).data.tolist())), top_k=10) for i in range(len(test))]
    om_dps = len(test) / (time.perf_counter() - t)
    pred = np.zeros((len(test), len(mlb.classes_)), dtype=int)
    top1 = 0
    for i, out in enumerate(om_out):
        for k, (j, p) in enumerate(out):
            if p >= 0.5 or k == 0:
                pred[i, j] = 1
        if out:
            top1 += y_test[i, col[mlb.classes_[out[0][0]]]]
    micro, macro = evaluate(pred)
    results.append({"system": "Omikuji (default)", "train_seconds": round(om_secs, 2), "micro_f1": round(micro, 4),
                    "macro_f1": round(macro, 4), "p_at_1": round(top1 / len(test), 4), "predict_docs_per_sec": round(om_dps)})
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "zh")
