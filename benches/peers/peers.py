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

    plain = at_least_top((scores > 0).astype(int))
    tuned = at_least_top((scores > thr).astype(int))
    p1 = float(np.mean([y_test[i, col[mlb.classes_[scores[i].argmax()]]] for i in range(len(test))]))
    for name, pred, secs in [("LinearSVC plain", plain, plain_fit), ("LinearSVC tuned (5-fold thresholds)", tuned, tuned_fit)]:
        micro, macro = evaluate(pred)
        print(json.dumps({"system": name, "train_seconds": round(secs, 2), "micro_f1": round(micro, 4),
                          "macro_f1": round(macro, 4), "p_at_1": round(p1, 4)}))


if __name__ == "__main__":
    main(sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "zh")
