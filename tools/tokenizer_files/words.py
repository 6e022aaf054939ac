"""Word splitting for training: close to the split patterns the tokenizer files name, in Python's `re`.

Training only needs plausible words to count; the encoders under test apply the files' exact patterns.
\\p{L} is approximated by [^\\W\\d_] and \\p{N} by \\d.
"""
import re
import unicodedata

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                  r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                 r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


def _to_python_re(pattern):
    return (pattern.replace(r"[^\s\p{L}\p{N}]", r"(?:[^\s\w]|_)").replace(r"[^\r\n\p{L}\p{N}]", r"[^\r\n\w]")
            .replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d"))


_COMPILED = {}


def split(pattern, text):
    if pattern not in _COMPILED:
        _COMPILED[pattern] = re.compile(_to_python_re(pattern))
    return _COMPILED[pattern].findall(text)


def metaspace_words(text, replacement="\u2581"):
    """Words as SentencePiece sees them: each space becomes the marker, which starts the next word."""
    marked = replacement + text.replace(" ", replacement)
    words, current = [], ""
    for ch in marked:
        if ch == replacement and current:
            words.append(current)
            current = ""
        current += ch
    if current:
        words.append(current)
    return words


def bert_words(text):
    """BERT's words: lowercased, accents stripped, CJK ideographs and punctuation as words of their own."""
    text = "".join(ch for ch in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(ch) != "Mn")
    out, word = [], ""
    for ch in text:
        cp = ord(ch)
        punct = unicodedata.category(ch).startswith("P") or (cp < 0x80 and not ch.isalnum() and ch.isprintable()
                                                             and not ch.isspace())
        cjk = 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
        if ch.isspace() or punct or cjk:
            if word:
                out.append(word)
            word = ""
            if punct or cjk:
                out.append(ch)
        else:
            word += ch
    if word:
        out.append(word)
    return out


def nfkc(text):
    return unicodedata.normalize("NFKC", text)
