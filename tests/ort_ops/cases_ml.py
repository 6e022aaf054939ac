"""ai.onnx.ml cases, the ops scikit-learn exporters write: Binarizer, Scaler, Normalizer, Imputer,
ArrayFeatureExtractor, FeatureVectorizer, LabelEncoder (numeric keys and values; string tables are unit
tests, since .npy files carry no strings here), LinearRegressor, LinearClassifier (multi-class and binary),
TreeEnsembleRegressor/Classifier (random trees, every aggregate, the binary form), TreeEnsemble-5, SVMRegressor
and SVMClassifier (every kernel, one-vs-one votes with and without Platt probabilities, the binary and linear
forms; each with a numpy reference of its own, svm_classifier_reference)."""
import numpy as np
from onnx import TensorProto, helper

from ort_ops_cases import MustFail, Tolerance, make_model, rng, value

F32, F64, I64 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64
ML = "ai.onnx.ml"
TOL = Tolerance(1e-5, 1e-5)


def _ml(name, op, x, outs, attrs, ml_opset=3, elem=F32, extra_inputs=()):
    ins = [("x", elem, x)] + list(extra_inputs)
    node = helper.make_node(op, [n for n, _, _ in ins], [o for o, _, _ in outs], domain=ML, **attrs)
    model = make_model([node], [value(n, t, a.shape) for n, t, a in ins], [value(o, t, rank=r) for o, t, r in outs],
                       {"": 17, ML: ml_opset})
    return name, model, {n: a for n, _, a in ins}


def preprocess_cases():
    x = rng("pre").standard_normal((4, 5)).astype(np.float32)
    yield (*_ml("Binarizer", "Binarizer", x, [("y", F32, 2)], {"threshold": 0.1}), 0.0)
    yield (*_ml("Scaler_per_column", "Scaler", x, [("y", F32, 2)],
                {"offset": [0.1, -0.2, 0.3, 0.0, 1.0], "scale": [2.0, 0.5, 1.0, -1.0, 3.0]}), TOL)
    yield (*_ml("Scaler_int64_one_value", "Scaler", (x * 10).astype(np.int64), [("y", F32, 2)],
                {"offset": [1.5], "scale": [0.25]}, elem=I64), TOL)
    for norm in ("MAX", "L1", "L2"):
        yield (*_ml(f"Normalizer_{norm}", "Normalizer", x, [("y", F32, 2)], {"norm": norm}), TOL)
    xn = x.copy()
    xn[1, 2] = xn[3, 0] = np.nan
    yield (*_ml("Imputer_nan", "Imputer", xn, [("y", F32, 2)],
                {"imputed_value_floats": [9.0, 8.0, 7.0, 6.0, 5.0], "replaced_value_float": float("nan")}), 0.0)
    idx = np.array([4, 0, 2], np.int64)
    yield (*_ml("ArrayFeatureExtractor", "ArrayFeatureExtractor", x, [("z", F32, 2)], {},
                extra_inputs=[("idx", I64, idx)]), 0.0)
    x2 = rng("fv").standard_normal((4, 2)).astype(np.float32)
    yield (*_ml("FeatureVectorizer", "FeatureVectorizer", x, [("y", F32, 2)], {"inputdimensions": [3, 4]},
                extra_inputs=[("x2", F32, x2)]), 0.0)
    xc = np.array([[3, 1], [9, 3]], np.int64)
    yield (*_ml("OneHotEncoder_int64", "OneHotEncoder", xc, [("y", F32, 3)], {"cats_int64s": [1, 3, 5]},
                elem=I64), 0.0)
    yield (*_ml("OneHotEncoder_unknown_without_zeros", "OneHotEncoder", xc, [("y", F32, 3)],
                {"cats_int64s": [1, 3, 5], "zeros": 0}, elem=I64), MustFail("no category"))
    keys = np.array([3, 1, 7], np.int64)
    xi = np.array([[1, 2, 3], [7, 7, 0]], np.int64)
    yield (*_ml("LabelEncoder2_int64_to_float", "LabelEncoder", xi, [("y", F32, 2)],
                {"keys_int64s": keys.tolist(), "values_floats": [0.5, 1.5, 2.5], "default_float": -3.0},
                ml_opset=2, elem=I64), 0.0)
    yield (*_ml("LabelEncoder4_keys_tensor", "LabelEncoder", xi, [("y", I64, 2)],
                {"keys_tensor": helper.make_tensor("k", I64, [3], keys.tolist()),
                 "values_tensor": helper.make_tensor("v", I64, [3], [30, 10, 70]),
                 "default_tensor": helper.make_tensor("d", I64, [1], [-7])}, ml_opset=4, elem=I64), 0.0)


def linear_cases():
    r = rng("linear")
    x = r.standard_normal((6, 4)).astype(np.float32)
    yield (*_ml("LinearRegressor_two_targets", "LinearRegressor", x, [("y", F32, 2)],
                {"coefficients": r.standard_normal(8).tolist(), "intercepts": [0.5, -1.0], "targets": 2}), TOL)
    for transform in ("NONE", "SOFTMAX", "LOGISTIC"):
        yield (*_ml(f"LinearClassifier_3_classes_{transform}", "LinearClassifier", x,
                    [("label", I64, 1), ("scores", F32, 2)],
                    {"coefficients": r.standard_normal(12).tolist(), "intercepts": [0.1, 0.2, -0.3],
                     "classlabels_ints": [5, 6, 7], "post_transform": transform}), TOL)
    for transform in ("NONE", "LOGISTIC"):
        yield (*_ml(f"LinearClassifier_binary_{transform}", "LinearClassifier", x,
                    [("label", I64, 1), ("scores", F32, 2)],
                    {"coefficients": r.standard_normal(4).tolist(), "intercepts": [0.2],
                     "classlabels_ints": [0, 1], "post_transform": transform}), TOL)


def _random_trees(r, trees, depth, features, leaf_ids, weight_scale=1.0, positive=False):
    """Full binary trees as v1/v3 attributes: nodes_* and (tree, node, id, weight) leaf rows."""
    nodes = {k: [] for k in ("treeids", "nodeids", "featureids", "values", "modes", "truenodeids", "falsenodeids",
                             "missing_value_tracks_true")}
    leaves = {k: [] for k in ("treeids", "nodeids", "ids", "weights")}
    modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT"]
    for t in range(trees):
        count = 2 ** (depth + 1) - 1
        for n in range(count):
            leaf = n >= 2 ** depth - 1
            nodes["treeids"].append(t)
            nodes["nodeids"].append(n)
            nodes["featureids"].append(0 if leaf else int(r.integers(0, features)))
            nodes["values"].append(0.0 if leaf else float(r.normal()))
            nodes["modes"].append("LEAF" if leaf else modes[int(r.integers(0, 4))])
            nodes["truenodeids"].append(0 if leaf else 2 * n + 1)
            nodes["falsenodeids"].append(0 if leaf else 2 * n + 2)
            nodes["missing_value_tracks_true"].append(int(r.integers(0, 2)))
            if leaf:
                for i in leaf_ids:
                    w = float(r.uniform(0, 1) if positive else r.normal()) * weight_scale
                    leaves["treeids"].append(t)
                    leaves["nodeids"].append(n)
                    leaves["ids"].append(i)
                    leaves["weights"].append(w)
    return nodes, leaves


def _tree_attrs(nodes, leaves, prefix):
    attrs = {f"nodes_{k}": v for k, v in nodes.items()}
    attrs.update({f"{prefix}_{k}": v for k, v in leaves.items()})
    return attrs


def tree_cases():
    x = rng("trees").standard_normal((8, 5)).astype(np.float32)
    x[2, 1] = np.nan
    for agg in ("SUM", "AVERAGE", "MIN", "MAX"):
        name = f"TreeEnsembleRegressor_{agg}"
        nodes, leaves = _random_trees(rng(name), 4, 3, 5, [0, 1])
        attrs = _tree_attrs(nodes, leaves, "target")
        attrs.update(n_targets=2, aggregate_function=agg, base_values=[0.25, -0.5])
        yield (*_ml(name, "TreeEnsembleRegressor", x, [("y", F32, 2)], attrs), TOL)
    for transform in ("NONE", "SOFTMAX", "LOGISTIC"):
        name = f"TreeEnsembleClassifier_3_classes_{transform}"
        nodes, leaves = _random_trees(rng(name), 3, 2, 5, [0, 1, 2], positive=True)
        attrs = _tree_attrs(nodes, leaves, "class")
        attrs.update(classlabels_int64s=[10, 20, 30], post_transform=transform)
        yield (*_ml(name, "TreeEnsembleClassifier", x, [("label", I64, 1), ("scores", F32, 2)], attrs), TOL)
    for transform, positive, cls in (("LOGISTIC", False, 1), ("NONE", False, 1), ("NONE", True, 1),
                                     ("LOGISTIC", False, 0), ("NONE", False, 0), ("NONE", True, 0),
                                     ("LOGISTIC", True, 0)):
        name = f"TreeEnsembleClassifier_binary_class{cls}_{transform}_{'positive' if positive else 'mixed'}"
        nodes, leaves = _random_trees(rng(name), 3, 2, 5, [cls], weight_scale=0.3, positive=positive)
        attrs = _tree_attrs(nodes, leaves, "class")
        attrs.update(classlabels_int64s=[0, 1], post_transform=transform)
        yield (*_ml(name, "TreeEnsembleClassifier", x, [("label", I64, 1), ("scores", F32, 2)], attrs), TOL)
    name = "TreeEnsembleRegressor_cycle"
    nodes, leaves = _random_trees(rng(name), 1, 1, 5, [0])
    nodes["truenodeids"][0] = 0
    attrs = _tree_attrs(nodes, leaves, "target")
    yield (*_ml(name, "TreeEnsembleRegressor", x, [("y", F32, 2)], attrs), MustFail("child"))


def tree_ensemble5_cases():
    # post_transform 1 and 2 are left out: ORT 1.31 swaps SOFTMAX and LOGISTIC against the spec's codes.
    for agg, transform in ((1, 0), (0, 0), (3, 0), (2, 0), (1, 3)):
        name = f"TreeEnsemble5_aggregate{agg}_transform{transform}"
        r = rng(name)
        x = r.standard_normal((6, 4)).astype(np.float32)
        # Two trees of three branch nodes each; node i's children are nodes or leaves.
        features, splits, modes, trues, falses, true_leafs, false_leafs = [], [], [], [], [], [], []
        leaf_targets, leaf_weights, roots = [], [], []
        members = []
        for t in range(2):
            base, leaf_base = len(features), len(leaf_targets)
            roots.append(base)
            for k in range(3):
                features.append(int(r.integers(0, 4)))
                splits.append(float(r.normal()))
                mode = int(r.integers(0, 6)) if k else 0  # BRANCH_MEMBER (6): ORT refuses these random sets
                modes.append(mode)
                if mode == 6:
                    members.extend([float(r.normal()), float(splits[-1])] + [float("nan")])
            trues += [base + 1, leaf_base + 0, leaf_base + 2]
            falses += [base + 2, leaf_base + 1, leaf_base + 3]
            true_leafs += [0, 1, 1]
            false_leafs += [0, 1, 1]
            for _ in range(4):
                leaf_targets.append(int(r.integers(0, 2)))
                leaf_weights.append(float(r.normal()))
        attrs = {"n_targets": 2, "aggregate_function": agg, "post_transform": transform, "tree_roots": roots,
                 "nodes_featureids": features, "nodes_truenodeids": trues, "nodes_falsenodeids": falses,
                 "nodes_trueleafs": true_leafs, "nodes_falseleafs": false_leafs,
                 "nodes_modes": helper.make_tensor("m", TensorProto.UINT8, [len(modes)], modes),
                 "nodes_splits": helper.make_tensor("s", F32, [len(splits)], splits),
                 "leaf_targetids": leaf_targets,
                 "leaf_weights": helper.make_tensor("w", F32, [len(leaf_weights)], leaf_weights)}
        if members:
            attrs["membership_values"] = helper.make_tensor("mv", F32, [len(members)], members)
        yield (*_ml(name, "TreeEnsemble", x, [("y", F32, 2)], attrs, ml_opset=5), TOL)


def svm_cases():
    r = rng("svm")
    x = r.standard_normal((5, 3)).astype(np.float32)
    sv = r.standard_normal((4, 3)).astype(np.float32)
    for kernel, params in (("LINEAR", [0.0, 0.0, 0.0]), ("POLY", [0.5, 1.0, 3.0]), ("RBF", [0.3, 0.0, 0.0]),
                           ("SIGMOID", [0.2, 0.1, 0.0])):
        yield (*_ml(f"SVMRegressor_{kernel}", "SVMRegressor", x, [("y", F32, 2)],
                    {"kernel_type": kernel, "kernel_params": params, "n_supports": 4,
                     "support_vectors": sv.reshape(-1).tolist(), "coefficients": r.standard_normal(4).tolist(),
                     "rho": [0.25]}), Tolerance(1e-5, 1e-4))
    yield (*_ml("SVMRegressor_linear_no_supports_one_class", "SVMRegressor", x, [("y", F32, 2)],
                {"coefficients": [0.5, -1.0, 2.0], "rho": [0.1], "one_class": 1, "kernel_type": "LINEAR",
                 "kernel_params": [0.0, 0.0, 0.0]}), 0.0)


def _svm_kernel(kernel, params, x, sv):
    gamma, coef0, degree = params
    if kernel == "RBF":
        return np.exp(-gamma * ((x[:, None, :] - sv[None, :, :]) ** 2).sum(-1))
    dot = x @ sv.T
    return {"LINEAR": dot, "POLY": (gamma * dot + coef0) ** degree, "SIGMOID": np.tanh(gamma * dot + coef0)}[kernel]


def _couple(r):
    """libsvm's multiclass_probability (Wu, Lin and Weng, method 2), in float32 as the kernels run it."""
    c = r.shape[0]
    q = np.zeros((c, c), np.float32)
    for i in range(c):
        for j in range(c):
            if i != j:
                q[i, i] += r[j, i] * r[j, i]
                q[i, j] = -r[j, i] * r[i, j]
    p = np.full(c, 1.0 / c, np.float32)
    for _ in range(max(100, c)):
        qp = q @ p
        pqp = np.float32(p @ qp)
        if np.abs(qp - pqp).max() < 0.005 / c:
            break
        for i in range(c):
            diff = (-qp[i] + pqp) / q[i, i]
            p[i] += diff
            pqp = (pqp + diff * (diff * q[i, i] + 2 * qp[i])) / (1 + diff) / (1 + diff)
            qp = (qp + diff * q[i, :]) / (1 + diff)
            p /= 1 + diff
    return p


def _post(transform, s):
    if transform == "SOFTMAX":
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if transform == "LOGISTIC":
        return 1 / (1 + np.exp(-s))
    return s


def svm_classifier_reference(x, a):
    """Labels and scores of SVMClassifier from its attributes (libsvm's SVC and liblinear forms, with the
    output rules of ONNX Runtime; src/ops/cpu/ml/ml_svm_classifier.cc has them in words)."""
    x = x.astype(np.float64)
    labels = np.array(a["classlabels_ints"], np.int64)
    c = len(labels)
    coef = np.array(a["coefficients"], np.float64)
    rho = np.array(a["rho"], np.float64)
    transform = a.get("post_transform", "NONE")
    per_class = a.get("vectors_per_class", [])
    if sum(per_class) == 0:
        scores = x @ coef.reshape(c, -1).T + rho[0]
        best = scores.argmax(axis=1)
        if c == 2 and "prob_a" not in a:
            top = scores.max(axis=1)
            second = (top >= 0.5) if (coef >= 0).all() else (top > 0)
            best = np.where(second, 1, best)
        return labels[best], _post(transform, scores).astype(np.float32)
    v = sum(per_class)
    sv = np.array(a["support_vectors"], np.float64).reshape(v, -1)
    k = _svm_kernel(a.get("kernel_type", "LINEAR"), a["kernel_params"], x, sv)
    first = np.concatenate([[0], np.cumsum(per_class)])
    pairs = [(i, j) for i in range(c) for j in range(i + 1, c)]
    d = np.zeros((len(x), len(pairs)))
    votes = np.zeros((len(x), c), np.int64)
    for p, (i, j) in enumerate(pairs):
        si, sj = slice(first[i], first[i + 1]), slice(first[j], first[j + 1])
        d[:, p] = k[:, si] @ coef[(j - 1) * v:][si] + k[:, sj] @ coef[i * v:][sj] + rho[p]
        np.add.at(votes, (np.arange(len(x)), np.where(d[:, p] > 0, i, j)), 1)
    best = votes.argmax(axis=1)
    if "prob_a" in a:
        scores = np.zeros((len(x), c), np.float32)
        for n in range(len(x)):
            r = np.zeros((c, c), np.float32)
            for p, (i, j) in enumerate(pairs):
                prob = 1 - 1 / (1 + np.exp(-(d[n, p] * a["prob_a"][p] + a["prob_b"][p])))
                r[i, j] = np.clip(prob, 1e-7, 1 - 1e-7)
                r[j, i] = 1 - r[i, j]
            scores[n] = _couple(r)
        return labels[best], _post(transform, scores.astype(np.float64)).astype(np.float32)
    if c == 2:
        d0 = d[:, 0]
        p = 1 / (1 + np.exp(-d0)) if transform == "LOGISTIC" else d0
        scores = np.stack([-d0, d0] if transform == "NONE" else [1 - p, p], axis=1)
        return labels[best], scores.astype(np.float32)
    return labels[best], _post(transform, d).astype(np.float32)


def _svm_classifier_case(name, x, attrs, elem=F32):
    model_name, model, inputs = _ml(name, "SVMClassifier", x, [("label", I64, 1), ("scores", F32, 2)], attrs,
                                    elem=elem)
    label, scores = svm_classifier_reference(x, attrs)
    return model_name, model, inputs, Tolerance(1e-5, 1e-4), {"label": label, "scores": scores}


def svm_classifier_cases():
    r = rng("svm_classifier")
    x = r.standard_normal((7, 3)).astype(np.float32)
    kernels = (("LINEAR", [0.0, 0.0, 0.0]), ("POLY", [0.5, 1.0, 3.0]), ("RBF", [0.3, 0.0, 0.0]),
               ("SIGMOID", [0.2, 0.1, 0.0]))

    def svc(classes, per_class, kernel, params, proba=False, **extra):
        v = sum(per_class)
        pairs = classes * (classes - 1) // 2
        attrs = {"kernel_type": kernel, "kernel_params": params, "vectors_per_class": per_class,
                 "support_vectors": r.standard_normal(v * 3).tolist(),
                 "coefficients": r.standard_normal((classes - 1) * v).tolist(),
                 "rho": (0.3 * r.standard_normal(pairs)).tolist(),
                 "classlabels_ints": [10 + 3 * i for i in range(classes)], **extra}
        if proba:
            attrs["prob_a"] = (-1.0 - r.random(pairs)).tolist()
            attrs["prob_b"] = (0.2 * r.standard_normal(pairs)).tolist()
        return attrs

    for kernel, params in kernels:
        yield _svm_classifier_case(f"SVMClassifier_3_classes_votes_{kernel}", x, svc(3, [2, 1, 2], kernel, params))
        yield _svm_classifier_case(f"SVMClassifier_4_classes_probabilities_{kernel}", x,
                                   svc(4, [1, 2, 2, 1], kernel, params, proba=True))
    yield _svm_classifier_case("SVMClassifier_3_classes_votes_SOFTMAX", x,
                               svc(3, [2, 2, 1], "RBF", [0.5, 0.0, 0.0], post_transform="SOFTMAX"))
    yield _svm_classifier_case("SVMClassifier_3_classes_probabilities_LOGISTIC", x,
                               svc(3, [1, 1, 2], "POLY", [0.4, 0.5, 2.0], proba=True, post_transform="LOGISTIC"))
    for transform in ("NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"):
        yield _svm_classifier_case(f"SVMClassifier_binary_votes_{transform}", x,
                                   svc(2, [2, 3], "RBF", [0.4, 0.0, 0.0], post_transform=transform))
    yield _svm_classifier_case("SVMClassifier_binary_probabilities", x, svc(2, [3, 1], "LINEAR", [0.0, 0.0, 0.0],
                                                                             proba=True))
    yield _svm_classifier_case("SVMClassifier_float64_input", x.astype(np.float64),
                               svc(3, [1, 2, 1], "SIGMOID", [0.3, -0.1, 0.0]), elem=F64)
    yield _svm_classifier_case("SVMClassifier_int64_input", (x * 3).astype(np.int64),
                               svc(3, [2, 1, 1], "RBF", [0.05, 0.0, 0.0]), elem=I64)
    linear = {"coefficients": r.standard_normal(9).tolist(), "rho": [0.2], "classlabels_ints": [1, 2, 3],
              "kernel_params": [0.0, 0.0, 0.0]}
    yield _svm_classifier_case("SVMClassifier_linear_form_3_classes", x, linear)
    yield _svm_classifier_case("SVMClassifier_linear_form_3_classes_SOFTMAX", x,
                               {**linear, "post_transform": "SOFTMAX"})
    yield _svm_classifier_case("SVMClassifier_linear_form_binary_mixed_weights", x,
                               {"coefficients": r.standard_normal(6).tolist(), "rho": [0.1], "classlabels_ints": [0, 1],
                                "kernel_params": [0.0, 0.0, 0.0]})
    yield _svm_classifier_case("SVMClassifier_linear_form_binary_positive_weights", x,
                               {"coefficients": (0.3 * r.random(6)).tolist(), "rho": [0.3], "classlabels_ints": [4, 9],
                                "kernel_params": [0.0, 0.0, 0.0]})
    bad = svc(3, [2, 1, 2], "RBF", [0.3, 0.0, 0.0])
    bad["coefficients"] = bad["coefficients"][:5]
    name, model, inputs = _ml("SVMClassifier_too_few_coefficients", "SVMClassifier", x,
                              [("label", I64, 1), ("scores", F32, 2)], bad)
    yield name, model, inputs, MustFail("attribute 'coefficients' has 5 values")


def cases():
    for family in (preprocess_cases, linear_cases, tree_cases, tree_ensemble5_cases, svm_cases,
                   svm_classifier_cases):
        yield from family()
