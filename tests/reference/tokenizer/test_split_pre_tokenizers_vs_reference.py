"""The byte-level pre-tokenizers named `gpt-4o` (o200k: Phi-4-mini) and
`tekken` (Mistral Nemo, Mistral Small 3, Ministral 8B) split text exactly as
Hugging Face `tokenizers` does with those models' split regex.

No such model is a test input, so SmolLM2's vocabulary and merges are
written into a GGUF of their own with `tokenizer.ggml.pre` set to each name;
the reference is tokenizers' BPE over the same vocabulary with the model's
pre-tokenizer (reference_tokenizers.HfSplitByteLevelBpe). Ids can hide a
word boundary placed differently (when no merge would cross it), so the
words themselves are compared too, through the pre_tokenize_words probe
built with the tokenizer unit tests.

Texts: the shared corpus (tests/data/tokenizer/corpus.jsonl), hand-written
cases aimed at the regexes' corners (case runs that overlap on Lm/Lo/M and
backtrack, titlecase letters, contractions in any case, digits, newlines and
slashes), and seeded random strings drawn from the same kinds of pieces.
"""
import os
import random
import subprocess

import pytest
from gguf import GGUFWriter

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a model hub

from paths import build_dir, missing  # noqa: E402
from reference_tokenizers import SPLIT_REGEXES, HfSplitByteLevelBpe, Vocab  # noqa: E402
from test_tokenizer_vs_reference import load_corpus, pensieve_ids  # noqa: E402

HAND_WRITTEN = [
    "Hello World", "HELLOworld", "helloWORLD", "CamelCaseWordsHere", "XMLHttpRequest",
    "ALL CAPS SHOUTING!", "iPhone eBay McDonald's O'Neil", "don't DON'T Don'T dOn'T",
    "we're WE'RE We'Re we've WE'VE I'm I'M you'll YOU'LL he'd HE'D it's IT'S",
    "it'S IT's 'tis 's 'S 'ſ don'ſ x'ſt", "'ll 'LL 'Ll 're 'rE 've 'VE 'd 'D 'm 'M",
    "ǅemal ǅEMAL ǅ ǈubljana ǋ Ǆ ǲ", "ʰa ʰAʰ Aʰ AAAʰ AAAʰBBB ˢˢˢ aʰʰʰB",
    "ｶﾀｶﾅー トーキョー ＡＢＣ ａｂｃ", "e\u0301te\u0301 E\u0301TE\u0301 \u0301 \u0301\u0301a A\u0301\u0301",
    "\u0301!", "!\u0301", " \u0301", "\u0301A", "A\u0301b", "a\u093f\u093f", "क्षि हिन्दी",
    "Ελληνικά ΕΛΛΗΝΙΚΑ ΣΊΣΥΦΟΣ σίσυφος", "Русский РУССКИЙ ПриВет", "中文字符 日本語 한국어",
    "مرحبا بالعالم", "שלום עולם", "ﷺ ﷽", "ß SS ẞ ŉ ﬆ ﬁ", "İstanbul ıi",
    "1 12 123 1234 12345 1234567", "٣٤٥٦ ⅫⅩ ①②③ ¹²³", "v1.2.3 x86_64 3D 4k 2nd",
    "line1\nline2\r\nline3\rline4\n\n\n", "a/b/c //comment\n/path/to/file.txt\n//\n",
    "!!\n/\n/x", "?!/\r\n//", "   leading and trailing   ", "\t\ttabs\tand\n\tmixed \n \n",
    "x  \n  y", " \u00a0\u3000 z", "emoji 😀👍🏽 🇫🇷 👨‍👩‍👧 ❤️", "{\"key\": [1, 2.5, \"v\"]}",
    "def f(x):\n    return x**2  # Comment\n", "<|im_start|>user\nHi<|im_end|>",
    "$100 €50 ¥30 ¢ £", "...---...", "a'b'c''d'''e", "'''", "'", "A", "a", " ", "\n",
    " A", " a", " 1", " !", " \n", "\u0301", "ʰ", "ǅ", "中", "1", "/",
]

PIECES = [
    "a", "b", "z", "Z", "Q", "É", "é", "ǅ", "ǈ", "ǲ", "ʰ", "ˢ", "ー", "ｶ", "中", "ا", "ק",
    "\u0301", "\u0308", "\u093f", "\u20dd", "'", "'", "s", "S", "ſ", "t", "T", "re", "RE", "Ve",
    "ll", "lL", "d", "D", "m", "M", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "/", "//", "!", ".",
    "?", "-", "_", "$", "1", "7", "123", "45678", "٣", "Ⅻ", "①", "😀", "👍🏽", "\u00a0", "\u3000",
    "Σ", "ς", "Ж", "ж", "ß", "İ", "ı", "ﬆ", "Hello", "WORLD", "iPhone", "don't", "WE'RE",
]


def random_texts(count: int, seed: int):
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def texts():
    corpus = [raw.decode("utf-8", errors="replace") for _, raw in load_corpus()]
    return corpus + HAND_WRITTEN + random_texts(4000, seed=20261205)


@pytest.fixture(scope="module")
def smollm2_vocab(default_model):
    return Vocab(default_model)


def write_vocab_gguf(path, vocab: Vocab, pre: str):
    w = GGUFWriter(str(path), "llama")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    w.add_token_merges(vocab.merges)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def probe_words(pre: str, all_texts):
    probe = build_dir() / "tests" / "unit" / "tokenizer" / "pre_tokenize_words"
    if not probe.exists():
        missing(f"the pre_tokenize_words probe ({probe})")
    stdin = "".join(t.encode().hex() + "\n" for t in all_texts)
    out = subprocess.run([str(probe), pre], input=stdin, capture_output=True, text=True,
                         check=True, timeout=300).stdout.splitlines()
    assert len(out) == len(all_texts)
    return [[int(x) for x in line.split()] for line in out]


@pytest.mark.parametrize("pre", ["gpt-4o", "tekken"])
def test_split_pre_tokenizer_words_match_hf_tokenizers(smollm2_vocab, tmp_path, pre):
    model = tmp_path / f"vocab-{pre}.gguf"
    write_vocab_gguf(model, smollm2_vocab, pre)
    ref = HfSplitByteLevelBpe(Vocab(model))
    all_texts = texts()
    mismatches = []
    for text, ends in zip(all_texts, probe_words(pre, all_texts)):
        words = ref.words(text)
        want, at = [], 0
        for w in words:
            at += len(w)
            want.append(at)
        if ends != want:
            got = [text[a:b] for a, b in zip([0] + ends, ends)]
            mismatches.append(f"{text[:60]!r}\n  want {words[:12]}\n  got  {got[:12]}")
    assert not mismatches, (f"{len(mismatches)} of {len(all_texts)} differ:\n"
                            + "\n".join(mismatches[:10]))


def test_the_reference_regexes_are_the_models_split_patterns():
    # The tokenizer.json patterns, written out here once more so that a
    # change to the shared fragments cannot go unnoticed.
    assert SPLIT_REGEXES["tekken"] == (
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|"
        r"\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    assert SPLIT_REGEXES["gpt-4o"] == (
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
        r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")


@pytest.mark.parametrize("pre", ["gpt-4o", "tekken"])
def test_split_pre_tokenizer_matches_hf_tokenizers(pensieve_bin, smollm2_vocab, tmp_path, pre):
    model = tmp_path / f"vocab-{pre}.gguf"
    write_vocab_gguf(model, smollm2_vocab, pre)
    vocab = Vocab(model)
    assert vocab.pre == pre
    ref = HfSplitByteLevelBpe(vocab)
    all_texts = texts()
    ours = pensieve_ids(pensieve_bin, model, [t.encode() for t in all_texts], parse_special=False)
    mismatches = []
    for text, got in zip(all_texts, ours):
        want = ref.encode(text)
        if got != want:
            mismatches.append(f"{text[:60]!r}\n  words {ref.words(text)[:12]}\n"
                              f"  want {want[:24]}\n  got  {got[:24]}")
    assert not mismatches, (f"{len(mismatches)} of {len(all_texts)} differ:\n"
                            + "\n".join(mismatches[:10]))


def test_the_texts_exercise_the_regexes_corners(smollm2_vocab, tmp_path):
    # The split must actually depend on what the new regexes add: case runs
    # (HELLOworld stays one word, helloWORLD is two), the contraction kept on
    # its word in gpt-4o only, single digits in tekken, slashes after
    # punctuation. Checked on the reference so a weak corpus cannot pass.
    model = tmp_path / "vocab-gpt-4o.gguf"
    write_vocab_gguf(model, smollm2_vocab, "gpt-4o")
    o200k = HfSplitByteLevelBpe(Vocab(model))
    model = tmp_path / "vocab-tekken.gguf"
    write_vocab_gguf(model, smollm2_vocab, "tekken")
    tekken = HfSplitByteLevelBpe(Vocab(model))
    assert o200k.words("HELLOworld helloWORLD") == ["HELLOworld", " hello", "WORLD"]
    assert o200k.words("DON'T") == ["DON'T"] and tekken.words("DON'T") == ["DON", "'T"]
    assert o200k.words("12345") == ["123", "45"] and tekken.words("123") == ["1", "2", "3"]
    assert o200k.words("ʰAAA!\n/x") == ["ʰ", "AAA", "!\n/", "x"]
    corpus = texts()
    assert sum(len(o200k.words(t)) != len(tekken.words(t)) for t in corpus) > 1000
