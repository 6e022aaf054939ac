"""bench/RESULTS.md: replaces one `## ` section, leaving the others as they are (shared by the bench scripts)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "RESULTS.md")


def replace_section(heading, section, path=RESULTS):
    """Puts `section` (starting with `heading`, e.g. "## Distributed") in place of the section that starts
    with `heading`, or appends it when there is none; returns the file's path."""
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n\n"
    start = text.find(heading)
    end = text.find("\n## ", start + 1) if start >= 0 else -1
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text)
    return path
