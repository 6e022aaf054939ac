"""A small deterministic Unigram vocabulary: frequent substrings of the words, scored by log-frequency.

Not SentencePiece's EM; enough for a realistic vocabulary whose segmentations vary (several ways to
cut a word, characters that are unknown). Pieces hold the word marker only at their start, as
SentencePiece's do.
"""
import collections
import math


def train(word_counts, max_pieces, max_piece_chars=8, marker="\u2581"):
    """word_counts: {word: count}. Returns [(piece, score)] best first: single characters seen twice or more
    and the most useful longer substrings, at most max_pieces."""
    freq = collections.Counter()
    for word, count in word_counts.items():
        for begin in range(len(word)):
            for end in range(begin + 1, min(len(word), begin + max_piece_chars) + 1):
                piece = word[begin:end]
                if marker in piece[1:]:
                    break
                freq[piece] += count
    chars = sorted((p for p in freq if len(p) == 1 and freq[p] >= 2), key=lambda p: (-freq[p], p))
    longer = sorted((p for p in freq if len(p) > 1 and freq[p] >= 2), key=lambda p: (-freq[p] * len(p), p))
    pieces = (chars + longer)[:max_pieces]
    total = sum(freq[p] for p in pieces)
    scored = [(p, round(math.log(freq[p] / total), 6)) for p in pieces]
    return sorted(scored, key=lambda item: (-item[1], item[0]))
