"""Reference values for eval::multiclass_metrics (tests/test_multiclass.cpp), from scikit-learn.

Writes multiclass_metrics.json next to this script: cases of class labels and class probabilities
(float32 values, rows summing to 1) with scikit-learn's accuracy of the argmax, confusion matrix,
one-vs-rest macro ROC AUC (roc_auc_score multi_class="ovr", average="macro"), and each class's
one-vs-rest ROC AUC and average precision. Run: /usr/bin/python3 tests/reference/multiclass_metrics.py
(Debian's python3-sklearn 1.2, python3-numpy).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, average_precision_score, confusion_matrix, roc_auc_score


def case(name, labels, probabilities):
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    k = probabilities.shape[1]
    scores = probabilities.astype(np.float64)
    predicted = np.argmax(scores, axis=1)
    return {
        "name": name,
        "classes": ["class%d" % c for c in range(k)],
        "labels": labels.tolist(),
        "probabilities": [[float(v) for v in row] for row in probabilities],
        "accuracy": accuracy_score(labels, predicted),
        "confusion_matrix": confusion_matrix(labels, predicted, labels=list(range(k))).tolist(),
        "macro_auc": roc_auc_score(labels, scores, multi_class="ovr", average="macro", labels=list(range(k))),
        "per_class_auc": [roc_auc_score(labels == c, scores[:, c]) for c in range(k)],
        "per_class_ap": [average_precision_score(labels == c, scores[:, c]) for c in range(k)],
    }


def softmax_rows(logits):
    logits = np.asarray(logits, dtype=np.float32)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return probabilities


generator = np.random.default_rng(21)
cases = []
# Three classes, informative logits: every class somewhat separable.
labels = generator.integers(0, 3, 60)
labels[:3] = [0, 1, 2]
cases.append(case("three classes, softmax of noisy logits", labels, softmax_rows(np.eye(3)[labels] * 1.5 + generator.normal(size=(60, 3)))))
# Four classes, weak signal.
labels = generator.integers(0, 4, 45)
labels[:4] = [0, 1, 2, 3]
cases.append(case("four classes, weak signal", labels, softmax_rows(np.eye(4)[labels] * 0.5 + generator.normal(size=(45, 4)))))
# Ties: probabilities in eighths (exact in float32, rows summing to exactly 1), so that scores tie
# within a column and maxima tie within a row (argmax takes the first).
labels, rows = [], []
for i in range(40):
    weights = generator.multinomial(8, [1 / 3] * 3)
    rows.append(weights / 8.0)
    labels.append(int(generator.integers(0, 3)) if i >= 3 else i)
cases.append(case("three classes, tied scores and tied maxima", labels, rows))
# Five classes, one image of the last class.
labels = generator.integers(0, 4, 30)
labels[:4] = [0, 1, 2, 3]
labels[-1] = 4
cases.append(case("five classes, one image of one class", labels, softmax_rows(np.eye(5)[labels] + generator.normal(size=(30, 5)))))

output = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multiclass_metrics.json")
with open(output, "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
    f.write("\n")
print("wrote", output, "with", len(cases), "cases")
