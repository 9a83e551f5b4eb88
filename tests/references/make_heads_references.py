"""scikit-learn references for clipft's frozen-feature heads (tests/test_logistic_regression.cpp,
tests/test_nearest_neighbors.cpp): writes heads.json next to this script.

Run with Debian's python3-sklearn (1.2): /usr/bin/python3 tests/references/make_heads_references.py
Cases: balanced two classes at C = 1 and C = 0.1, unbalanced two classes (9:1) at C = 1, three
classes at C = 10. Features are float32 values (unit rows, like CLIP embeddings) written as their
shortest decimals. Logistic regression: LogisticRegression(multi_class="multinomial", C=C) solved
to a tight tolerance (the optimum, not the default 100 iterations). kNN:
KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute") on the float32 features.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier


def make_features(rng, counts, width, spread):
    centres = rng.normal(size=(len(counts), width))
    rows, labels = [], []
    for c, count in enumerate(counts):
        rows.append(centres[c] + spread * rng.normal(size=(count, width)))
        labels += [c] * count
    x = np.concatenate(rows).astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    order = rng.permutation(len(labels))
    return x[order].astype(np.float32), np.array(labels, dtype=np.int64)[order]


def float32_list(values):
    """Shortest decimal texts that read back (as double, then cast to float) as the same float32 values."""
    return [float(repr(value)) for value in values.astype(np.float32).ravel()]


def rounded(probabilities):
    return [round(float(p), 9) for p in probabilities.ravel()]


def case(name, seed, train_counts, test_counts, width, spread, C, ks):
    rng = np.random.default_rng(seed)
    x, y = make_features(rng, train_counts, width, spread)
    # Test rows from the same distribution (same centres: drawn with the same generator state).
    rng = np.random.default_rng(seed)
    all_x, all_y = make_features(rng, [a + b for a, b in zip(train_counts, test_counts)], width, spread)
    test_x, test_y = all_x[-sum(test_counts):], all_y[-sum(test_counts):]
    model = LogisticRegression(multi_class="multinomial", C=C, tol=1e-12, max_iter=100000)
    model.fit(x.astype(np.float64), y)
    result = {
        "name": name, "C": C, "classes": len(train_counts),
        "train_features": float32_list(x), "train_labels": y.tolist(), "width": width,
        "test_features": float32_list(test_x),
        "logistic_test_probabilities": rounded(model.predict_proba(test_x.astype(np.float64))),
        "knn": [],
    }
    for k in ks:
        knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute").fit(x, y)
        result["knn"].append({"k": k, "test_probabilities": rounded(knn.predict_proba(test_x))})
    return result


cases = [
    case("balanced C=1", 1, [60, 60], [30, 30], 16, 1.5, 1.0, [1, 5, 20]),
    case("balanced C=0.1", 2, [60, 60], [30, 30], 16, 1.5, 0.1, [1, 5]),
    case("unbalanced 9:1 C=1", 3, [135, 15], [45, 5], 16, 1.2, 1.0, [1, 5, 20]),
    case("three classes C=10", 4, [40, 30, 20], [15, 15, 15], 12, 1.0, 10.0, [5]),
]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "heads.json")
with open(out, "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
print(out)
