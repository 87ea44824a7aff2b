"""Reference tokenizers built from a GGUF file's metadata with the upstream
libraries, for comparing Pensieve's tokenizer against.

- Byte-level BPE (SmolLM2, `tokenizer.ggml.model = gpt2`, pre `smollm`): a
  Hugging Face `tokenizers` BPE over the GGUF's vocabulary and merges, with
  the pre-tokenizer that `smollm` names (individual digits, then GPT-2's
  byte-level split) and the control tokens as special added tokens. This is
  what transformers' GGUF loader builds, except that the loader (needs torch)
  drops the Digits step, which the model's own tokenizer.json has.
- Byte-level BPE with one split regex (pre `gpt-4o`, `tekken`): the same
  BPE with the pre-tokenizer those models' tokenizer.json files have: a
  `Split` on the regex (matches and gaps kept, "isolated"), then ByteLevel
  without its own regex.
- SentencePiece (Gemma 3, `llama`): the `sentencepiece` library itself, with
  a BPE ModelProto made from the GGUF pieces, scores and types. GGUF stores
  whitespace-only user-defined pieces with plain spaces; SentencePiece keeps
  them escaped ("▁▁"), so they are escaped back. (transformers' GGUF loader
  builds a Unigram model for Gemma 3, which disagrees with SentencePiece.)
"""
import re
from pathlib import Path

from gguf import GGUFReader

CONTROL = 3
USER_DEFINED = 4
UNKNOWN = 2


def _array(reader, key):
    field = reader.fields[key]
    return [field.parts[i] for i in field.data]


def _scalar(reader, key, default=None):
    if key not in reader.fields:
        return default
    field = reader.fields[key]
    value = field.parts[field.data[0]]
    return bytes(value).decode() if field.types[0].name == "STRING" else value.tolist()[0]


class Vocab:
    def __init__(self, path: Path):
        r = GGUFReader(path)
        self.model = _scalar(r, "tokenizer.ggml.model")
        self.pre = _scalar(r, "tokenizer.ggml.pre", "default")
        self.tokens = [bytes(p).decode("utf-8") for p in _array(r, "tokenizer.ggml.tokens")]
        self.types = [int(p[0]) for p in _array(r, "tokenizer.ggml.token_type")]
        self.scores = ([float(p[0]) for p in _array(r, "tokenizer.ggml.scores")]
                       if "tokenizer.ggml.scores" in r.fields else None)
        self.merges = ([bytes(p).decode("utf-8") for p in _array(r, "tokenizer.ggml.merges")]
                       if "tokenizer.ggml.merges" in r.fields else None)
        self.special_ids = {k: _scalar(r, f"tokenizer.ggml.{k}_token_id")
                            for k in ("bos", "eos", "unknown", "padding")}

    def control_ids(self):
        return {i for i, t in enumerate(self.types) if t in (CONTROL, UNKNOWN)}


class HfByteLevelBpe:
    """tokenizers' BPE for a gpt2-model GGUF with the smollm pre-tokenizer."""

    def __init__(self, vocab: Vocab):
        from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

        assert vocab.model == "gpt2" and vocab.pre == "smollm", (vocab.model, vocab.pre)
        ids = {t: i for i, t in enumerate(vocab.tokens)}
        merges = [tuple(m.split(" ", 1)) for m in vocab.merges]
        tok = Tokenizer(models.BPE(vocab=ids, merges=merges, fuse_unk=False))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens([AddedToken(vocab.tokens[i], special=True, normalized=False)
                                for i in sorted(vocab.control_ids())])
        self.tok = tok

    def encode(self, text: str, parse_special: bool):
        # encode_special_tokens=True: special-token text is split as plain text.
        self.tok.encode_special_tokens = not parse_special
        return self.tok.encode(text, add_special_tokens=False).ids


# The split regexes of the byte-level vocabularies tested by their name (the
# pre-tokenizer's `Split` pattern in the models' tokenizer.json).
_UPPER = r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"
_LOWER = r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"
_LEAD = r"[^\r\n\p{L}\p{N}]?"
_CONTRACTION = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
_TAIL = r" ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPLIT_REGEXES = {
    "gpt-4o": (f"{_LEAD}{_UPPER}*{_LOWER}+{_CONTRACTION}|{_LEAD}{_UPPER}+{_LOWER}*{_CONTRACTION}|"
               f"\\p{{N}}{{1,3}}|{_TAIL}"),
    "tekken": f"{_LEAD}{_UPPER}*{_LOWER}+|{_LEAD}{_UPPER}+{_LOWER}*|\\p{{N}}|{_TAIL}",
}


class HfSplitByteLevelBpe:
    """tokenizers' BPE for a gpt2-model GGUF whose pre-tokenizer is one split
    regex (SPLIT_REGEXES), client text only (control-token text stays text)."""

    def __init__(self, vocab: Vocab):
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

        assert vocab.model == "gpt2" and vocab.pre in SPLIT_REGEXES, (vocab.model, vocab.pre)
        ids = {t: i for i, t in enumerate(vocab.tokens)}
        merges = [tuple(m.split(" ", 1)) for m in vocab.merges]
        tok = Tokenizer(models.BPE(vocab=ids, merges=merges, fuse_unk=False))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(SPLIT_REGEXES[vocab.pre]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        tok.decoder = decoders.ByteLevel()
        self.tok = tok
        self.split = pre_tokenizers.Split(Regex(SPLIT_REGEXES[vocab.pre]), behavior="isolated")

    def encode(self, text: str):
        return self.tok.encode(text, add_special_tokens=False).ids

    def words(self, text: str):
        return [w for w, _ in self.split.pre_tokenize_str(text)]


class SentencePieceBpe:
    """The sentencepiece library over a `llama`-model GGUF's pieces."""

    def __init__(self, vocab: Vocab):
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2 as pb

        assert vocab.model == "llama"
        m = pb.ModelProto()
        m.trainer_spec.model_type = pb.TrainerSpec.BPE
        m.trainer_spec.byte_fallback = True
        m.trainer_spec.vocab_size = len(vocab.tokens)
        m.trainer_spec.unk_id = vocab.special_ids["unknown"]
        m.trainer_spec.bos_id = vocab.special_ids["bos"]
        m.trainer_spec.eos_id = vocab.special_ids["eos"]
        m.trainer_spec.pad_id = vocab.special_ids["padding"] if vocab.special_ids["padding"] is not None else -1
        m.normalizer_spec.name = "identity"
        m.normalizer_spec.add_dummy_prefix = False  # Gemma: add_space_prefix = false
        m.normalizer_spec.remove_extra_whitespaces = False
        m.normalizer_spec.escape_whitespaces = True
        for text, score, kind in zip(vocab.tokens, vocab.scores, vocab.types):
            if kind == USER_DEFINED and text and text.strip(" ") == "":
                text = "\u2581" * len(text)
            piece = m.pieces.add()
            piece.piece, piece.score, piece.type = text, score, kind
        self.sp = spm.SentencePieceProcessor(model_proto=m.SerializeToString())
        controls = sorted((vocab.tokens[i] for i in vocab.control_ids()), key=len, reverse=True)
        self.control_re = re.compile("|".join(re.escape(t) for t in controls if t))
        self.ids = {t: i for i, t in enumerate(vocab.tokens)}

    def encode(self, text: str, parse_special: bool):
        if not parse_special:
            return self.sp.encode(text)
        # SentencePiece never reads control pieces from text; template text is
        # cut at each control token (leftmost, longest) and the rest encoded.
        out, pos = [], 0
        for m in self.control_re.finditer(text):
            out += self.sp.encode(text[pos:m.start()])
            out.append(self.ids[m.group()])
            pos = m.end()
        return out + self.sp.encode(text[pos:])
