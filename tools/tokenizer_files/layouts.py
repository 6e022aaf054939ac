"""tokenizer.json layouts as the Hugging Face converters write them for GPT-2, Llama-3, Qwen2, Llama-2,
Mistral, T5, ALBERT and BERT, over vocabularies trained here on a bundled corpus.

Each builder returns (tokenizer_json, tokenizer_config) as dicts. Vocabulary sizes and special-token ids
are parameters so that a test decoder model can get a tokenizer with exactly its vocabulary.
"""
import collections

from . import bpe_trainer, unigram_trainer, words

MARKER = "\u2581"


def bytes_to_unicode():
    """GPT-2's byte -> stand-in character table, in GPT-2's order (printable bytes first)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_CHARS = bytes_to_unicode()


def byte_level(text):
    return "".join(BYTE_CHARS[b] for b in text.encode("utf-8"))


def added(token_id, content, special=True, normalized=None, lstrip=False, rstrip=False, single_word=False):
    return {"id": token_id, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def tokenizer_json(model, added_tokens, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": decoder, "model": model}


def bpe_model(vocab, merges, unk_token=None, byte_fallback=False, fuse_unk=False, ignore_merges=False,
              merges_as_pairs=False):
    return {"type": "BPE", "dropout": None, "unk_token": unk_token, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": fuse_unk, "byte_fallback": byte_fallback,
            "ignore_merges": ignore_merges, "vocab": vocab,
            "merges": [list(m) for m in merges] if merges_as_pairs else [f"{a} {b}" for a, b in merges]}


def template(bos=None, eos=None):
    """TemplateProcessing adding `bos` before and / or `eos` after, each a (token, id) pair."""
    single, pair, special = [], [], {}
    for token in (bos,):
        if token:
            single.append({"SpecialToken": {"id": token[0], "type_id": 0}})
    single.append({"Sequence": {"id": "A", "type_id": 0}})
    if eos:
        single.append({"SpecialToken": {"id": eos[0], "type_id": 0}})
    pair = single + [dict(item) for item in single]
    pair = [{"Sequence": {"id": "B", "type_id": 1}} if "Sequence" in p and i >= len(single) else p
            for i, p in enumerate(pair)]
    for token in (bos, eos):
        if token:
            special[token[0]] = {"id": token[0], "ids": [token[1]], "tokens": [token[0]]}
    return {"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special}


def split_pre_tokenizer(pattern):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}


def byte_level_counts(corpus, pattern):
    counts = collections.Counter()
    for piece in words.split(pattern, corpus):
        counts[tuple(byte_level(piece))] += 1
    return counts


def train_byte_level(corpus, pattern, model_tokens, first_ids=()):
    """Byte-level BPE: `first_ids` tokens (specials) take ids 0.., then the 256 byte characters, then merges."""
    alphabet = [BYTE_CHARS[b] for b in BYTE_CHARS]
    tokens, merges = bpe_trainer.train(byte_level_counts(corpus, pattern), alphabet, model_tokens - len(first_ids))
    vocab = {t: i for i, t in enumerate(list(first_ids) + tokens)}
    return vocab, merges


def gpt2(corpus, vocab_size=1000):
    vocab, merges = train_byte_level(corpus, words.GPT2_PATTERN, vocab_size - 1)
    eot = len(vocab)
    vocab["<|endoftext|>"] = eot
    tokens = [added(eot, "<|endoftext|>", normalized=True),
              added(eot + 1, "<mask>", lstrip=True),
              added(eot + 2, "[[code]]", special=False, normalized=False, rstrip=True)]
    byte = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tj = tokenizer_json(bpe_model(vocab, merges), tokens, pre_tokenizer=byte, post_processor=dict(byte),
                        decoder=dict(byte))
    config = {"add_bos_token": False, "add_prefix_space": False, "bos_token": "<|endoftext|>",
              "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "clean_up_tokenization_spaces": True,
              "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}
    return tj, config


LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]


def llama3(corpus, vocab_size=1500):
    vocab, merges = train_byte_level(corpus, words.LLAMA3_PATTERN, vocab_size - len(LLAMA3_SPECIALS))
    base = len(vocab)
    tokens = [added(base + i, t) for i, t in enumerate(LLAMA3_SPECIALS)]
    post = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        template(bos=("<|begin_of_text|>", base))]}
    tj = tokenizer_json(bpe_model(vocab, merges, ignore_merges=True, merges_as_pairs=True), tokens,
                        pre_tokenizer=split_pre_tokenizer(words.LLAMA3_PATTERN), post_processor=post,
                        decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                 "use_regex": True})
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "clean_up_tokenization_spaces": True,
              "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"}
    return tj, config


def qwen2(corpus, vocab_size=1200):
    specials = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
                ("<tool_call>", False), ("</tool_call>", False)]
    vocab, merges = train_byte_level(corpus, words.QWEN2_PATTERN, vocab_size - len(specials))
    base = len(vocab)
    tokens = [added(base + i, t, special=s, normalized=False) for i, (t, s) in enumerate(specials)]
    byte = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tj = tokenizer_json(bpe_model(vocab, merges, merges_as_pairs=True), tokens, normalizer={"type": "NFC"},
                        pre_tokenizer=split_pre_tokenizer(words.QWEN2_PATTERN), post_processor=dict(byte),
                        decoder=dict(byte))
    config = {"add_prefix_space": False, "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
              "clean_up_tokenization_spaces": False, "model_max_length": 32768, "tokenizer_class": "Qwen2Tokenizer"}
    return tj, config


def train_metaspace_bpe(corpus, model_tokens, first_tokens):
    """SentencePiece-style BPE: words start with the marker; characters seen fewer than twice (and control
    characters) are left to byte fallback. Returns the vocab with first_tokens, <0x00>..<0xFF>, then the
    characters and merges."""
    counts = collections.Counter()
    for line in corpus.split("\n"):
        for word in words.metaspace_words(line):
            counts[word] += 1
    char_counts = collections.Counter()
    for word, count in counts.items():
        for ch in word:
            char_counts[ch] += count
    chars = sorted((c for c, n in char_counts.items() if n >= 2 and c.isprintable()),
                   key=lambda c: (-char_counts[c], c))
    fixed = list(first_tokens) + [f"<0x{b:02X}>" for b in range(256)]
    chars = chars[:max(0, (model_tokens - len(fixed)) // 2)]
    known = set(chars)
    word_counts = collections.Counter()
    for word, count in counts.items():  # unknown characters cut words: they never merge
        piece = ""
        for ch in word + "\0":
            if ch in known:
                piece += ch
                continue
            if piece:
                word_counts[tuple(piece)] += count
            piece = ""
    tokens, merges = bpe_trainer.train(word_counts, chars, model_tokens - len(fixed))
    vocab = {t: i for i, t in enumerate(fixed + tokens)}
    return vocab, merges


LLAMA2_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": MARKER}, "content": " "}, {"type": "ByteFallback"},
    {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}


def llama2_config(bos="<s>", eos="</s>", unk="<unk>", add_bos=True):
    def token(content):
        return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False}
    return {"add_bos_token": add_bos, "add_eos_token": False, "bos_token": token(bos), "eos_token": token(eos),
            "unk_token": token(unk), "clean_up_tokenization_spaces": False, "legacy": False,
            "model_max_length": 4096, "tokenizer_class": "LlamaTokenizer"}


def llama2(corpus, vocab_size=1000, specials=("<unk>", "<s>", "</s>")):
    vocab, merges = train_metaspace_bpe(corpus, vocab_size, specials)
    tokens = [added(vocab[t], t, normalized=False) for t in specials]
    normalizer = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": MARKER}, {"type": "Replace", "pattern": {"String": " "}, "content": MARKER}]}
    tj = tokenizer_json(bpe_model(vocab, merges, unk_token=specials[0], byte_fallback=True, fuse_unk=True), tokens,
                        normalizer=normalizer, post_processor=template(bos=(specials[1], vocab[specials[1]])),
                        decoder=LLAMA2_DECODER)
    return tj, llama2_config(*specials[1:], unk=specials[0])


def mistral(corpus, vocab_size=1000):
    """The newer conversion: Metaspace pre-tokenizer (prepend "first", no split) and control tokens."""
    tj, config = llama2(corpus, vocab_size - 2)
    base = len(tj["model"]["vocab"])
    tj["added_tokens"] += [added(base, "[INST]"), added(base + 1, "[/INST]")]
    tj["model"]["vocab"].update({"[INST]": base, "[/INST]": base + 1})
    tj["normalizer"] = None
    tj["pre_tokenizer"] = {"type": "Metaspace", "replacement": MARKER, "prepend_scheme": "first", "split": False}
    tj["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "ByteFallback"}, {"type": "Metaspace", "replacement": MARKER, "prepend_scheme": "first",
                                    "split": False}, {"type": "Fuse"}]}
    return tj, config


def unigram_pieces(corpus, count):
    word_counts = collections.Counter()
    for word in words.nfkc(corpus).split():
        word_counts[MARKER + word] += 1
    return unigram_trainer.train(word_counts, count)


METASPACE_ALWAYS = {"type": "Metaspace", "replacement": MARKER, "prepend_scheme": "always", "split": True}


def t5(corpus, vocab_size=1200):
    specials = ["<pad>", "</s>", "<unk>"]
    extra = [f"<extra_id_{i}>" for i in range(3)]
    pieces = unigram_pieces(corpus, vocab_size - len(specials) - len(extra))
    vocab = [[s, 0.0] for s in specials] + [list(p) for p in pieces] + [[e, 0.0] for e in extra]
    tokens = [added(i, s, normalized=False) for i, s in enumerate(specials)]
    tokens += [added(len(vocab) - len(extra) + i, e, normalized=False) for i, e in enumerate(extra)]
    normalizer = {"type": "Sequence", "normalizers": [
        {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
    pre = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, dict(METASPACE_ALWAYS)]}
    tj = tokenizer_json({"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False}, tokens,
                        normalizer=normalizer, pre_tokenizer=pre, post_processor=template(eos=("</s>", 1)),
                        decoder=dict(METASPACE_ALWAYS))
    config = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "extra_ids": len(extra),
              "additional_special_tokens": extra, "clean_up_tokenization_spaces": True, "model_max_length": 512,
              "tokenizer_class": "T5Tokenizer"}
    return tj, config


PRECOMPILED_PLACEHOLDER = "ALAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def albert(corpus, vocab_size=1000):
    specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    pieces = unigram_pieces(corpus.lower(), vocab_size - len(specials))
    vocab = [[s, 0.0] for s in specials] + [list(p) for p in pieces]
    tokens = [added(i, s, normalized=False, lstrip=(s == "[MASK]")) for i, s in enumerate(specials)]
    normalizer = {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
        {"type": "Replace", "pattern": {"String": "''"}, "content": "\""},
        {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
        # SentencePiece's charsmap; real files hold a large blob, which tokenizers.js (and Tessera) do not read
        {"type": "Precompiled", "precompiled_charsmap": PRECOMPILED_PLACEHOLDER}]}
    pre = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, dict(METASPACE_ALWAYS)]}
    tj = tokenizer_json({"type": "Unigram", "unk_id": 1, "vocab": vocab, "byte_fallback": False}, tokens,
                        normalizer=normalizer, pre_tokenizer=pre,
                        post_processor=template(bos=("[CLS]", 2), eos=("[SEP]", 3)),
                        decoder=dict(METASPACE_ALWAYS))
    config = {"bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "<unk>", "pad_token": "<pad>",
              "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]", "do_lower_case": True,
              "clean_up_tokenization_spaces": True, "model_max_length": 512, "tokenizer_class": "AlbertTokenizer"}
    return tj, config


def bert(corpus, vocab_size=1200):
    """BERT uncased: BertNormalizer, BertPreTokenizer, WordPiece trained as BPE over "##" continuations."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    spelled = collections.Counter()
    for word in words.bert_words(corpus):
        spelled[tuple([word[0]] + ["##" + ch for ch in word[1:]])] += 1
    symbol_counts = collections.Counter()
    for word, count in spelled.items():
        for symbol in word:
            symbol_counts[symbol] += count
    alphabet = sorted((s for s, n in symbol_counts.items() if n >= 2), key=lambda s: (-symbol_counts[s], s))
    alphabet = alphabet[:(vocab_size - len(specials)) // 2]
    known = set(alphabet)
    trainable = {w: n for w, n in spelled.items() if all(s in known for s in w)}  # the rest are [UNK] words
    tokens, _ = bpe_trainer.train(trainable, alphabet, vocab_size - len(specials),
                                  join=lambda a, b: a + b[2:] if b.startswith("##") else a + b)
    vocab = {t: i for i, t in enumerate(specials + tokens)}
    model = {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
             "max_input_chars_per_word": 100, "vocab": vocab}
    tj = tokenizer_json(model, [added(i, s, normalized=False) for i, s in enumerate(specials)],
                        normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                    "strip_accents": None, "lowercase": True},
                        pre_tokenizer={"type": "BertPreTokenizer"},
                        post_processor={"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
                        decoder={"type": "WordPiece", "prefix": "##", "cleanup": True})
    config = {"do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
              "cls_token": "[CLS]", "mask_token": "[MASK]", "clean_up_tokenization_spaces": True,
              "model_max_length": 512, "tokenizer_class": "BertTokenizer"}
    return tj, config


STYLES = {"gpt2_bpe": gpt2, "llama3_bpe": llama3, "qwen2_bpe": qwen2, "llama2_metaspace": llama2,
          "mistral_metaspace": mistral, "t5_unigram": t5, "albert_unigram": albert, "bert_wordpiece": bert}


def for_decoder(corpus, arch, vocab_size, pad, bos, eos):
    """A tokenizer with exactly vocab_size ids for a test decoder whose special ids are pad, bos and eos.

    llama: Llama-2's layout (<unk>, <s>, </s> at ids 0, 1, 2, byte fallback, BOS added). gpt2: GPT-2's
    byte-level layout with the special ids wherever the model puts them (GPT-2 itself: one <|endoftext|>
    last). Ids the corpus cannot fill become reserved special tokens.
    """
    if arch == "llama":
        if (pad, bos, eos) != (0, 1, 2):
            raise ValueError("llama test tokenizers put <unk>/pad, <s>, </s> at ids 0, 1, 2")
        tj, config = llama2(corpus, vocab_size)
    else:
        names = {}
        for token_id, name in ((eos, "<|endoftext|>"), (bos, "<|startoftext|>"), (pad, "<|pad|>")):
            names.setdefault(token_id, name)
        free = [i for i in range(vocab_size) if i not in names]
        trained, merges = train_byte_level(corpus, words.GPT2_PATTERN, len(free))
        vocab = {token: free[i] for token, i in trained.items()}
        vocab.update({name: i for i, name in names.items()})
        byte = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        tj = tokenizer_json(bpe_model(vocab, merges), [added(i, t, normalized=True) for i, t in sorted(names.items())],
                            pre_tokenizer=byte, post_processor=dict(byte), decoder=dict(byte))
        config = {"add_bos_token": False, "bos_token": names[bos], "eos_token": names[eos], "pad_token": names[pad],
                  "unk_token": names[eos], "clean_up_tokenization_spaces": False, "model_max_length": 1024,
                  "tokenizer_class": "GPT2Tokenizer"}
    used = set(tj["model"]["vocab"].values()) | {t["id"] for t in tj["added_tokens"]}
    for i in range(vocab_size):
        if i not in used:  # a corpus too small to fill the vocabulary
            token = f"<|reserved_{i}|>"
            tj["model"]["vocab"][token] = i
            tj["added_tokens"].append(added(i, token))
    size = max(max(tj["model"]["vocab"].values()), max(t["id"] for t in tj["added_tokens"])) + 1
    if size != vocab_size:
        raise ValueError(f"test tokenizer has {size} ids, the model {vocab_size}")
    return tj, config
