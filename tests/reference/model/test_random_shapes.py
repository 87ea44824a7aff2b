"""The random-model writer as the benchmarks use it: a mix's tensor types
read back by the PyPI `gguf` reader, a real tokenizer copied in and padded
with unused tokens up to the shape's vocabulary, and the file served by our
own binary."""
import subprocess

import gguf
import numpy as np

from paths import build_dir, model_path
from test_forward_vs_numpy import tool


def make(tmp_path, *args):
    out = tmp_path / "model.gguf"
    made = subprocess.run([str(tool("make_random_model")), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    return out


def test_q4_k_m_mix_and_a_padded_real_tokenizer(tmp_path):
    source = gguf.GGUFReader(model_path("smollm2"))
    have = len(source.fields["tokenizer.ggml.tokens"].data)
    vocab = have + 100
    path = make(tmp_path, "--arch", "llama", "--mix", "q4_k_m", "--vocab", str(vocab),
                "--tokenizer-from", str(model_path("smollm2")))
    r = gguf.GGUFReader(path)
    types = {t.name: t.tensor_type.name for t in r.tensors}
    # Two layers: Q4_K_M gives Q6_K to attn_v / ffn_down of the last eighth
    # only (layer 1), and to the output.
    assert types["blk.0.attn_v.weight"] == "Q4_K"
    assert types["blk.0.ffn_down.weight"] == "Q4_K"
    assert types["blk.1.attn_v.weight"] == "Q6_K"
    assert types["blk.1.ffn_down.weight"] == "Q6_K"
    assert types["output.weight"] == "Q6_K"
    assert types["token_embd.weight"] == "Q4_K"
    assert types["blk.1.attn_norm.weight"] == "F32"
    emb = next(t for t in r.tensors if t.name == "token_embd.weight")
    assert int(emb.shape[1]) == vocab

    tokens = r.fields["tokenizer.ggml.tokens"]
    assert len(tokens.data) == vocab
    last = tokens.parts[tokens.data[-1]].tobytes().decode()
    assert last == f"<|unused_{vocab - 1}|>"
    token_type = r.fields["tokenizer.ggml.token_type"]
    kinds = np.array([token_type.parts[i][0] for i in token_type.data])
    assert (kinds[have:] == 5).all() and (kinds[:have] != 5).any()
    first = source.fields["tokenizer.ggml.tokens"]
    for i in (0, 1, have - 1):
        assert tokens.parts[tokens.data[i]].tobytes() == first.parts[first.data[i]].tobytes()
    merges = "tokenizer.ggml.merges"
    assert len(r.fields[merges].data) == len(source.fields[merges].data)

    ran = subprocess.run([str(build_dir() / "pensieve"), "run", "-m", str(path),
                          "--max-tokens", "4", "--temperature", "0", "hello"],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr


def test_a_vocabulary_smaller_than_the_tokenizer_grows_to_it(tmp_path):
    path = make(tmp_path, "--arch", "qwen2", "--mix", "q8_0",
                "--tokenizer-from", str(model_path("smollm2")))
    r = gguf.GGUFReader(path)
    n = len(r.fields["tokenizer.ggml.tokens"].data)
    emb = next(t for t in r.tensors if t.name == "token_embd.weight")
    assert int(emb.shape[1]) == n
    assert {t.tensor_type.name for t in r.tensors if len(t.shape) == 2} == {"Q8_0"}


def test_a_split_phi3_with_its_vocabulary_and_template_runs_in_the_cli(tmp_path):
    """A random Phi-3 (fused tensors, LongRoPE) with the Phi-3 vocabulary from
    tests/data, written as two parts: `pensieve run` loads it by its first
    part and generates through the Phi-3.5 chat template."""
    from paths import REPO
    vocab = REPO / "tests" / "data" / "vocab" / "ggml-vocab-phi-3.gguf"
    template = REPO / "tests" / "data" / "chat_templates" / "phi-3.5-mini-instruct.jinja"
    make(tmp_path, "--arch", "phi3", "--mix", "q8_0", "--tokenizer-from", str(vocab),
         "--split", "2")
    first = tmp_path / "model-00001-of-00002.gguf"
    ran = subprocess.run([str(build_dir() / "pensieve"), "run", "-m", str(first),
                          "--chat-template", str(template), "--max-tokens", "4",
                          "--temperature", "0", "--verbose", "hello"],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "template: file" in ran.stderr, ran.stderr
    assert "warning" not in ran.stderr, ran.stderr
