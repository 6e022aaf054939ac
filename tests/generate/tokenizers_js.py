"""tokenizers.js (tests/generate/tokenizer_reference.mjs) from Python tests: the reference encodings and
decodings of one tokenizer folder."""
import json
import os
import subprocess
import tempfile

REFERENCE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokenizer_reference.mjs")


def reference(node, folder, entries):
    """entries: texts (encoded, then decoded) or {"ids": [...]} (decoded). Returns one dict per entry with
    "ids", "ids_plain" (texts only), "decoded" (special tokens skipped) and "decoded_keep"."""
    name = os.path.basename(os.path.normpath(folder))
    with tempfile.TemporaryDirectory() as tmp:
        cases, out = os.path.join(tmp, "cases.json"), os.path.join(tmp, "out.json")
        with open(cases, "w", encoding="utf-8") as f:
            json.dump({name: entries}, f, ensure_ascii=False)
        subprocess.run([node, REFERENCE_SCRIPT, cases, out, folder], check=True, timeout=120)
        with open(out, encoding="utf-8") as f:
            return json.load(f)[name]
