"""A small deterministic BPE trainer: repeatedly merge the most frequent adjacent pair.

Ties go to the pair whose (left, right) strings sort first, so the result never depends on dict order.
Pair counts are kept incrementally: merging a pair only changes the counts of the words that hold it.
"""
import collections


def concatenate(left, right):
    return left + right


def train(word_counts, alphabet, max_tokens, join=concatenate):
    """word_counts: {tuple of symbols: count}; alphabet: the symbols every word is spelled with; join makes
    a merge's token from its two parts (WordPiece drops the right part's "##").

    Returns (tokens, merges): the alphabet followed by each merge's result in order (at most max_tokens
    in all, repeats skipped), and the merges as (left, right) pairs.
    """
    tokens = list(alphabet)
    known = set(tokens)
    words = [list(w) for w in word_counts]
    counts = [word_counts[w] for w in word_counts]
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words holding it
    for i, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += counts[i]
            where[pair].add(i)
    merges = []
    while len(tokens) < max_tokens and pair_counts:
        best = min(pair_counts.items(), key=lambda item: (-item[1], item[0]))
        if best[1] <= 0:
            break
        pair = best[0]
        merged = join(pair[0], pair[1])
        merges.append(pair)
        if merged not in known:
            known.add(merged)
            tokens.append(merged)
        for i in sorted(where.pop(pair, ())):
            word = words[i]
            for old in zip(word, word[1:]):
                pair_counts[old] -= counts[i]
            out, j = [], 0
            while j < len(word):
                if j + 1 < len(word) and word[j] == pair[0] and word[j + 1] == pair[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(word[j])
                    j += 1
            words[i] = out
            for new in zip(out, out[1:]):
                pair_counts[new] += counts[i]
                where[new].add(i)
        for key in [k for k, v in pair_counts.items() if v <= 0]:
            del pair_counts[key]
    return tokens, merges
