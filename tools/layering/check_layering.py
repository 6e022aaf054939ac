#!/usr/bin/python3
"""Fails when an #include in src/ runs against Tessera's layering.

usage: tools/layering/check_layering.py [SRC_DIR]     # default: the src/ beside tools/
       tools/layering/check_layering.py --self-test   # proves the check catches a bad include

It also checks that src/README.md keeps step with the tree: a paragraph (**name/**) for every folder of
src/, and every kernel family folder of src/ops/cpu/ named in it.

Values flow one way: cli -> serve -> generate -> parallel -> runtime -> graph/passes -> model, ops -> graph
-> core (compress sits beside generate). ALLOWED below is the whole rule: a file of a module may include
its own module and the modules listed for it. Kernel families (src/ops/cpu/<family>/) may include their
own family, src/ops/cpu/common/ and the ops/ interface; a family built on another family's pieces is
listed in FAMILY_EDGES with the reason. src/testing/ is for tests only: tests (files named *_test.cc or
*_test_*.h) may also include testing/ and run models through the runtime. The public headers count as
their modules: tessera/session.h is runtime, tessera/tensor.h and tessera/status.h are core.
"""
import os
import re
import sys
import tempfile

ALLOWED = {
    "core": set(),
    "graph": {"core"},
    "model": {"core", "graph"},
    "ops": {"core", "graph"},
    "ops/cpu/common": {"core", "graph", "ops"},
    "ops/cpu/*": {"core", "graph", "ops", "ops/cpu/common"},
    "graph/passes": {"core", "graph", "model", "ops"},
    "runtime": {"core", "graph", "graph/passes", "model", "ops", "ops/cpu/common"},
    "parallel": {"core", "graph", "graph/passes", "model", "ops", "runtime"},
    "compress": {"core", "graph", "model", "ops", "runtime"},
    "generate": {"core", "graph", "graph/passes", "model", "ops", "runtime", "parallel"},
    "serve": {"core", "graph", "graph/passes", "model", "ops", "runtime", "parallel", "generate", "compress"},
    "cli": {"core", "graph", "graph/passes", "model", "ops", "runtime", "parallel", "generate", "compress",
            "serve"},
    "testing": {"core", "graph", "model", "runtime"},
}
FAMILY_EDGES = {
    # Quantized convolution and matmul reuse the float matmul's input checks, scratch and oneDNN wrapper.
    ("ops/cpu/quantization", "ops/cpu/matmul"),
    # The per-step recurrence of RNN, GRU and LSTM reads oneDNN's packed panels with the matmul family's GEMV.
    ("ops/cpu/recurrent", "ops/cpu/matmul"),
    # LayerNormQuantize runs the float LayerNorm row kernel, then quantizes each row while it is in L1.
    ("ops/cpu/quantization", "ops/cpu/normalization"),
    # MeanVarianceNormalization accumulates over the reduction family's plans.
    ("ops/cpu/normalization", "ops/cpu/reduction"),
}
TEST_EXTRA = {"testing", "runtime", "model", "graph/passes"}
PUBLIC = {"tessera/session.h": "runtime", "tessera/tensor.h": "core", "tessera/status.h": "core",
          "tessera/value.h": "core"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(path):
    """The module of a path relative to src/ (a file or an include target), or None if not ours."""
    parts = path.split("/")
    if len(parts) < 2:
        return None
    if parts[0] == "ops" and len(parts) >= 4 and parts[1] == "cpu":
        return "ops/cpu/" + parts[2]
    if parts[0] == "graph" and len(parts) >= 3 and parts[1] == "passes":
        return "graph/passes"
    return parts[0]


def allowed_for(module):
    if module in ALLOWED:
        return ALLOWED[module]
    if module.startswith("ops/cpu/"):
        return ALLOWED["ops/cpu/*"]
    return None


def is_test(path):
    name = os.path.basename(path)
    return name.endswith("_test.cc") or "_test_" in name


def violations(src_dir):
    found = []
    for root, _, files in os.walk(src_dir):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            full = os.path.join(root, name)
            rel = os.path.relpath(full, src_dir)
            module = module_of(rel)
            allowed = allowed_for(module)
            if allowed is None:
                found.append(f"{rel}: module '{module}' is not in the layering table (tools/layering)")
                continue
            with open(full, encoding="utf-8", errors="replace") as f:
                for line_no, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = PUBLIC.get(m.group(1)) or module_of(m.group(1))
                    if target is None or target == module:
                        continue
                    ok = target in allowed or (module, target) in FAMILY_EDGES
                    if is_test(rel):
                        ok = ok or target in TEST_EXTRA or target.startswith("ops/cpu/")
                    elif target == "testing":
                        ok = False
                    if not ok:
                        found.append(f"{rel}:{line_no}: {module} must not include {m.group(1)} ({target})")
    return found


def readme_gaps(src_dir):
    """Folders of src/ (and kernel families) that src/README.md does not describe."""
    try:
        with open(os.path.join(src_dir, "README.md"), encoding="utf-8") as f:
            readme = f.read()
    except OSError:
        return ["src/README.md is missing"]
    gaps = []
    for name in sorted(os.listdir(src_dir)):
        if os.path.isdir(os.path.join(src_dir, name)) and f"**{name}/**" not in readme:
            gaps.append(f"src/README.md has no paragraph **{name}/**")
    cpu = os.path.join(src_dir, "ops", "cpu")
    if os.path.isdir(cpu):
        for family in sorted(os.listdir(cpu)):
            if os.path.isdir(os.path.join(cpu, family)) and f"`{family}/`" not in readme:
                gaps.append(f"src/README.md does not name the kernel family `{family}/`")
    return gaps


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        def write(rel, text):
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(text)
        write("core/a.h", "#pragma once\n")
        write("graph/g.h", '#include "core/a.h"\n')
        write("ops/cpu/conv/c.cc", '#include "ops/cpu/common/x.h"\n#include "graph/g.h"\n')
        write("ops/cpu/common/x.h", '#include "ops/registry.h"\n')
        write("ops/cpu/conv/c_test.cc", '#include "testing/onnx_builder.h"\n#include "tessera/session.h"\n')
        write("README.md", "**core/** **graph/** **ops/** `conv/` `common/`\n")
        if violations(tmp) or readme_gaps(tmp):
            print("self-test: a clean tree was reported:", violations(tmp))
            return 1
        bad = {
            "ops/cpu/conv/bad.cc": '#include "tessera/session.h"\n',        # ops -> runtime
            "graph/passes/p.cc": '#include "ops/cpu/conv/conv_dnnl.h"\n',   # pass -> concrete kernel
            "ops/cpu/pool/p.cc": '#include "graph/passes/conv_fusion.h"\n',  # ops -> passes
            "runtime/r.cc": '#include "testing/onnx_builder.h"\n',          # engine -> test helpers
            "ops/cpu/conv/d.cc": '#include "ops/cpu/pool/pool_dnnl.h"\n',    # family -> unlisted family
            "mystery/m.cc": "\n",                                            # a module nobody placed
        }
        for rel, text in bad.items():
            write(rel, text)
        got = violations(tmp)
        missed = [rel for rel in bad if not any(v.startswith(rel) for v in got)]
        if missed:
            print("self-test: these bad includes were not caught:", missed)
            return 1
        gaps = readme_gaps(tmp)  # runtime/, mystery/ and the pool family have no paragraph
        if len(gaps) != 3:
            print("self-test: README gaps not caught as expected:", gaps)
            return 1
    print(f"self-test: clean tree passes, all {len(bad)} bad includes and 3 README gaps caught")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    src_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "src")
    found = violations(os.path.normpath(src_dir)) + readme_gaps(os.path.normpath(src_dir))
    for v in found:
        print(v)
    if found:
        print(f"{len(found)} problem(s) with the layering or src/README.md; see {__file__}")
        return 1
    print("layering: every include follows the module order; src/README.md names every module and family")
    return 0


if __name__ == "__main__":
    sys.exit(main())
