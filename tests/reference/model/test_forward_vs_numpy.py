"""Our forward pass against the independent NumPy reference (numpy_forward.py):
random-weight models of every supported architecture written by our GGUF
writer, and the two real models, with the scalar reference kernels and with
the fastest kernels of this CPU.

Metric: for every position, max |ours - reference| over the vocabulary,
divided by the reference logits' range at that position, must stay under a
tolerance, and the argmax must agree wherever the reference's top two logits
are further apart than twice that position's error (a near-tie may flip).

Tolerances: F16 weights (float activations, no activation quantization)
must agree to 0.1% on the reference kernels, which pins down the forward pass
itself. The fast kernels of CPUs with BF16 dot products (AVX512-BF16) run the
attention of prefill runs with q, k, v and the probabilities rounded to BF16
(8 significant bits, so 2^-9 relative per value; sums stay F32): about 0.2% of
the logit range on the random models, so 0.5% there. Quantized
weights are dotted with activations quantized to 8 bits, as llama.cpp does;
that costs about 1% on the random models and up to ~5% on the real 18- and
30-layer models, whose activations have outliers that 8-bit blocks round
coarsely. For those the mean KL divergence of the next-token distributions
must also stay small.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import numpy_forward  # noqa: E402
from paths import build_dir  # noqa: E402

TOLERANCE_F16 = 0.001  # of the logit range at each position
# Prefill on CPUs with AVX512-BF16 takes BF16 products in attention and in
# the F16-weight matmuls (activations and weights rounded to 8 significant
# bits, F32 sums): up to 0.53% of the range seen (Ministral 3 at depth, whose
# temperature scales queries up). CPUs with AVX512-FP16 take FP16 products in
# the attention over F16 caches, in prefill and decode alike (scores and p · V
# summed in FP16 over whole steps of positions): up to 0.07% of the range on
# the random models at depth, 3-4x the F32 error, so one token at a time is
# held to TOLERANCE_FP16_ATTENTION there. One token at a time with F32
# products throughout (the AVX2 kernels) is still held to TOLERANCE_F16 at
# depth, so the model's arithmetic is checked tightly there and on the
# reference kernels.
TOLERANCE_F16_FAST = 0.01
TOLERANCE_FP16_ATTENTION = 0.002
TOLERANCE_RANDOM = 0.02
TOLERANCE_REAL = 0.06
MAX_MEAN_KL_REAL = 0.01
PROMPT = [1, 17, 300, 42, 5, 99, 260, 7, 3, 150, 64, 11]


def tool(name):
    path = build_dir() / "tools" / name
    if not path.exists():
        pytest.fail(f"{path} is not built")
    return path


def our_logits(model, tokens, isa, chunk=0, seqs=0, kv_type="f16", gpu_layers=0, threads=0):
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"logits_{os.getpid()}.f32"
    env = dict(os.environ, PENSIEVE_CPU=isa)
    cmd = [str(tool("model_logits")), "--model", str(model), "--out", str(out),
           "--tokens", ",".join(map(str, tokens))]
    if chunk:
        cmd += ["--chunk", str(chunk)]
    if seqs:
        cmd += ["--seqs", str(seqs)]
    cmd += ["--kv-type", kv_type]
    if gpu_layers:
        cmd += ["--gpu-layers", str(gpu_layers)]
    if threads:
        cmd += ["--threads", str(threads)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    data = np.fromfile(out, dtype=np.float32)
    out.unlink()
    return data.reshape(len(tokens), -1)


def cpu_info(isa):
    """`pensieve cpu --json` under PENSIEVE_CPU=isa."""
    result = subprocess.run([str(build_dir() / "pensieve"), "cpu", "--json"], capture_output=True,
                            text=True, env=dict(os.environ, PENSIEVE_CPU=isa), timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mean_kl(ours, ref):
    p, q = softmax(ref.astype(np.float64)), softmax(ours.astype(np.float64))
    return float((p * np.log(p / q)).sum(axis=1).mean())


def compare(ours, ref, tolerance, skip=None):
    """skip: positions left out (a mixture's near-tied routing, see
    decisive_positions)."""
    assert ours.shape == ref.shape
    if skip is not None:
        ours, ref = ours[~skip], ref[~skip]
    rng = ref.max(axis=1) - ref.min(axis=1)
    err = np.abs(ours - ref).max(axis=1)
    rel = err / rng
    assert rel.max() < tolerance, f"max relative error {rel.max():.4f} at position {rel.argmax()}"
    top2 = np.sort(ref, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * err
    same = ours.argmax(axis=1) == ref.argmax(axis=1)
    assert np.all(same[clear]), f"argmax differs at positions {np.where(clear & ~same)[0]}"
    return rel.max()


# The fastest variant this CPU runs (PENSIEVE_CPU falls back to it when the
# CPU lacks AVX-512).
BEST_ISA = "avx512"
# GGUF architectures, and families make_random_model writes as one of them:
# llama3.1 (llama with rope_freqs), mistral (llama with a sliding window of 4
# positions on every layer), phi3 (fused attn_qkv and gate+up, 3/4 rotary,
# LongRoPE), qwen2-yarn (qwen2 with YaRN x4 over 32 original positions: a band
# of blended pairs, the default magnitude correction).
ARCHS = ["llama", "llama3.1", "mistral", "mistral3", "qwen2", "qwen2-yarn", "qwen3", "gemma3",
         "phi3"]
# mistral3 (YaRN x16 and the attention temperature) gets an original context
# of 8 positions, so the temperature changes the queries from position 8 of
# the prompt on (by 1 + 0.1 ln 2), and YaRN blends pair 0 into pair 1.
EXTRA_ARGS = {"mistral3": ["--orig-ctx", "8"]}


def random_model(tmp_path, arch, wtype):
    """A random-weight model of `arch` in `wtype`, and the reference's logits
    of PROMPT on it."""
    path = tmp_path / f"{arch}_{wtype}.gguf"
    made = subprocess.run([str(tool("make_random_model")), "--arch", arch, "--type", wtype,
                           "--out", str(path), "--seed", "7", *EXTRA_ARGS.get(arch, [])],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return path, numpy_forward.forward(gguf.GGUFReader(str(path)), PROMPT)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("wtype", ["q8_0", "q4_0", "q4_1", "q4_K", "q6_K", "f16"])
def test_random_models_match_the_reference(arch, wtype, tmp_path):
    path, ref = random_model(tmp_path, arch, wtype)
    tolerance = TOLERANCE_F16 if wtype == "f16" else TOLERANCE_RANDOM
    fast = TOLERANCE_F16_FAST if wtype == "f16" else TOLERANCE_RANDOM
    compare(our_logits(path, PROMPT, "ref"), ref, tolerance)
    compare(our_logits(path, PROMPT, BEST_ISA), ref, fast)
    # Prefill in chunks reads earlier chunks back from the KV cache.
    compare(our_logits(path, PROMPT, BEST_ISA, chunk=5), ref, fast)
    # One token at a time: decode's attention (a few rows, F32 products).
    compare(our_logits(path, PROMPT, BEST_ISA, chunk=1), ref, tolerance)


# Mixtures of experts. The router's choice is discontinuous: where a token's
# last chosen expert and the best unchosen one have nearly equal logits, the
# rounding of 8-bit activations may pick either, and that token's output
# then differs by a whole expert's contribution (a legitimate result, not an
# error). So positions whose smallest routing margin over the layers is
# under NEAR_TIE of their router logits' spread are left out of the
# comparison (at most a quarter of them, or the model is too undecided to
# test); a flip there reaches the other positions only through attention,
# well inside the tolerance. F16 weights dot float activations one token at
# a time, and BF16-rounded ones (2^-9 relative) in batches on CPUs with
# AVX512-BF16: their margin is a third of the quantized one.
NEAR_TIE = {"f16": 0.01}
NEAR_TIE_QUANTIZED = 0.03


def decisive_positions(path, tokens, wtype):
    """The reference logits and the positions to leave out."""
    margins = np.full(len(tokens), np.inf)
    ref = numpy_forward.forward(gguf.GGUFReader(str(path)), tokens, router_margins=margins)
    skip = margins < NEAR_TIE.get(wtype, NEAR_TIE_QUANTIZED)
    assert skip.sum() <= len(tokens) // 4, f"routing margins {margins}"
    return ref, skip


def make_moe(path, arch, wtype, seed, *extra):
    made = subprocess.run([str(tool("make_random_model")), "--arch", arch, "--type", wtype,
                           "--out", str(path), "--seed", str(seed), *extra],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr


# (experts per token of the 8, expert_weights_norm): qwen3moe's default
# (renormalised), 1 and 4 renormalised or not, and all 8 (every expert runs).
MOE_ROUTING = [("2", None), ("1", "0"), ("4", "0"), ("4", "1"), ("8", "0")]


@pytest.mark.parametrize("wtype", ["q8_0", "q4_0", "q4_1", "q4_K", "q6_K", "f16"])
@pytest.mark.parametrize("used,norm", MOE_ROUTING)
def test_qwen3moe_models_match_the_reference(used, norm, wtype, tmp_path):
    path = tmp_path / f"qwen3moe_{wtype}.gguf"
    extra = ["--experts-used", used] + (["--expert-norm", norm] if norm else [])
    make_moe(path, "qwen3moe", wtype, 7, *extra)
    ref, skip = decisive_positions(path, PROMPT, wtype)
    tolerance = TOLERANCE_F16 if wtype == "f16" else TOLERANCE_RANDOM
    fast = TOLERANCE_F16_FAST if wtype == "f16" else TOLERANCE_RANDOM
    compare(our_logits(path, PROMPT, "ref"), ref, tolerance, skip)
    compare(our_logits(path, PROMPT, BEST_ISA), ref, fast, skip)
    compare(our_logits(path, PROMPT, BEST_ISA, chunk=5), ref, fast, skip)
    compare(our_logits(path, PROMPT, BEST_ISA, chunk=1), ref, tolerance, skip)


@pytest.mark.parametrize("wtype", ["q8_0", "q4_K", "q6_K", "f16"])
def test_qwen2moe_models_match_the_reference(wtype, tmp_path):
    """Qwen2-MoE: q, k, v biases, weights not renormalised, and a shared
    expert gated by a sigmoid."""
    path = tmp_path / f"qwen2moe_{wtype}.gguf"
    make_moe(path, "qwen2moe", wtype, 7)
    ref, skip = decisive_positions(path, PROMPT, wtype)
    tolerance = TOLERANCE_F16 if wtype == "f16" else TOLERANCE_RANDOM
    fast = TOLERANCE_F16_FAST if wtype == "f16" else TOLERANCE_RANDOM
    compare(our_logits(path, PROMPT, "ref"), ref, tolerance, skip)
    compare(our_logits(path, PROMPT, BEST_ISA), ref, fast, skip)
    compare(our_logits(path, PROMPT, BEST_ISA, chunk=1), ref, tolerance, skip)


@pytest.mark.parametrize("wtype", ["q4_K", "q8_0", "f16"])
def test_a_batched_mixture_gives_the_logits_of_one_token_at_a_time(wtype, tmp_path):
    """Decoding the prompt side by side with 4 and 16 copies of itself
    (every used expert's group has 4 or 16 rows: the GEMM paths) against one
    token per pass (groups of one: GEMV): the same logits up to float noise
    and activation rounding (see the llama test above) and the same greedy
    token at every position whose routing is decisive. A batched matmul
    rounds its activations unlike GEMV's (8-bit for quantized weights, BF16
    for F16 ones on CPUs with AVX512-BF16), enough to flip a near-tied
    routing, as the reference comparisons above allow for. With F16 weights
    the reference kernels run it (float activations at every batch size, so
    the grouping is checked without any rounding difference), and the whole
    prompt in one pass too."""
    path = tmp_path / f"qwen3moe_{wtype}.gguf"
    make_moe(path, "qwen3moe", wtype, 3, "--experts-used", "2")
    _, skip = decisive_positions(path, PROMPT, wtype)
    isa = "ref" if wtype == "f16" else BEST_ISA
    alone = our_logits(path, PROMPT, isa, chunk=1)
    rng = alone.max(axis=1) - alone.min(axis=1)
    runs = [our_logits(path, PROMPT, isa, seqs=4), our_logits(path, PROMPT, isa, seqs=16)]
    if wtype == "f16":
        runs.append(our_logits(path, PROMPT, isa))
    for batched in runs:
        rel = (np.abs(batched - alone).max(axis=1) / rng)[~skip]
        assert rel.max() < 1e-2, rel
        assert (batched.argmax(axis=1) == alone.argmax(axis=1))[~skip].all()


# Thread counts past this machine's cores (the split is planned for the
# pool's size, whatever the cores): an odd count, and 16.
MANY_THREADS = (7, 16)


@pytest.mark.parametrize("arch", ["llama", "qwen3moe"])
def test_more_threads_than_cores_give_the_reference_logits(arch, tmp_path):
    """A q4_K model prefilled in chunks, decoded a token at a time and
    batched with copies of itself, on pools of 7 and 16 threads: the
    reference's logits, and one thread's up to float noise (each output is
    computed whole by one task, however the rows are dealt out)."""
    if arch == "qwen3moe":
        path = tmp_path / "qwen3moe_q4_K.gguf"
        make_moe(path, arch, "q4_K", 7)
        ref, skip = decisive_positions(path, PROMPT, "q4_K")
    else:
        path, ref = random_model(tmp_path, arch, "q4_K")
        skip = np.zeros(len(PROMPT), dtype=bool)
    for kwargs in ({"chunk": 5}, {"chunk": 1}, {"seqs": 4}):
        one = our_logits(path, PROMPT, BEST_ISA, threads=1, **kwargs)
        rng = one.max(axis=1) - one.min(axis=1)
        for threads in MANY_THREADS:
            many = our_logits(path, PROMPT, BEST_ISA, threads=threads, **kwargs)
            compare(many, ref, TOLERANCE_RANDOM, skip)
            assert (np.abs(many - one).max(axis=1) / rng)[~skip].max() < 1e-5, (kwargs, threads)


def test_a_long_decode_on_many_threads_gives_the_reference_logits(tmp_path):
    """Lone tokens past 512 positions, whose ranges split-KV spreads over
    more tasks the more threads there are: with 16 threads, the reference's
    logits, and one thread's up to the merges' float noise."""
    path = tmp_path / "llama_f16_long.gguf"
    made = subprocess.run([str(tool("make_random_model")), "--arch", "llama", "--type", "f16",
                           "--out", str(path), "--seed", "11", "--ctx", "1024"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    reader = gguf.GGUFReader(str(path))
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    tokens = [int(t) for t in np.random.default_rng(4).integers(0, n_vocab, 700)]
    ref = numpy_forward.forward(reader, tokens)
    one = our_logits(path, tokens, BEST_ISA, seqs=1, threads=1)
    many = our_logits(path, tokens, BEST_ISA, seqs=1, threads=16)
    compare(many, ref, TOLERANCE_F16_FAST)
    rng = one.max(axis=1) - one.min(axis=1)
    assert (np.abs(many - one).max(axis=1) / rng).max() < 1e-4


# Real prompts as token ids (tokenizer-independent): an English sentence in
# each model's vocabulary.
REAL_PROMPTS = {
    "default_model": [504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282, 4649, 314],
    "gemma_model": [2, 818, 5279, 529, 7001, 563, 9079, 236761, 669, 5279, 529, 7001, 563],
}


@pytest.mark.parametrize("fixture", ["default_model", "gemma_model"])
def test_real_models_match_the_reference(request, fixture):
    path = request.getfixturevalue(fixture)
    tokens = REAL_PROMPTS[fixture]
    ref = numpy_forward.forward(gguf.GGUFReader(str(path)), tokens)
    for isa in ("ref", BEST_ISA):
        ours = our_logits(path, tokens, isa)
        compare(ours, ref, TOLERANCE_REAL)
        assert mean_kl(ours, ref) < MAX_MEAN_KL_REAL


# Past 4k positions and off the 16-position block edges.
DEPTH_TOKENS = 4096 + 37
# KV types that round keys and values more coarsely than the reference's
# floats: BF16 keeps 8 bits of mantissa, Q8_0 about 7.
DEPTH_TOLERANCE = {"f16": TOLERANCE_F16, "bf16": TOLERANCE_RANDOM, "q8_0": TOLERANCE_RANDOM}


@pytest.mark.parametrize("arch,kv_type", [("llama", "f16"), ("llama", "bf16"), ("llama", "q8_0"),
                                          ("gemma3", "f16"), ("gemma3", "q8_0"),
                                          ("mistral", "f16"), ("phi3", "f16"),
                                          ("mistral3", "f16"), ("qwen2-yarn", "f16")])
def test_logits_at_depth_match_the_reference(arch, kv_type, tmp_path):
    """Every position of a 4k-token sequence, with F16 weights (no activation
    quantization): prefilled in 509-token chunks (runs of tokens attending
    together, chunk edges off the block edges) and decoded one token at a time
    (lone tokens, their long ranges split across threads and merged), with
    this CPU's fastest kernels and with the AVX2 ones (F32 products). Gemma 3
    gets a 512-position window on its local layers, so windows start inside
    blocks. mistral3 and qwen2-yarn are made with an original context of 64
    positions, so YaRN blends the first 6 (mistral3) or 9 (qwen2) pairs and
    the temperature grows to
    1 + 0.1 ln 65 by the last position."""
    path = tmp_path / f"{arch}_f16_depth.gguf"
    orig = ["--orig-ctx", "64"] if arch in ("mistral3", "qwen2-yarn") else []
    made = subprocess.run([str(tool("make_random_model")), "--arch", arch, "--type", "f16",
                           "--out", str(path), "--seed", "5", "--ctx", "8192",
                           "--window", "512", *orig], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    rng = np.random.default_rng(9)
    reader = gguf.GGUFReader(str(path))
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    tokens = [int(t) for t in rng.integers(0, n_vocab, DEPTH_TOKENS)]
    ref = numpy_forward.forward(reader, tokens)
    tolerance = DEPTH_TOLERANCE[kv_type]
    compare(our_logits(path, tokens, BEST_ISA, chunk=509, kv_type=kv_type), ref,
            max(tolerance, TOLERANCE_F16_FAST))
    fp16 = kv_type == "f16" and cpu_info(BEST_ISA)["fp16_attention"]
    compare(our_logits(path, tokens, BEST_ISA, seqs=1, kv_type=kv_type), ref,
            max(tolerance, TOLERANCE_FP16_ATTENTION) if fp16 else tolerance)
    compare(our_logits(path, tokens, "avx2", seqs=1, kv_type=kv_type), ref, tolerance)


@pytest.mark.parametrize("wtype", ["q4_1", "q8_0", "q4_K"])
def test_batching_sequences_changes_logits_only_by_float_noise(wtype, tmp_path):
    """Decoding a sequence alone (b = 1 per step, the GEMV path) and side by
    side with others (b = 4 or 16 per step, the tiled GEMM path) must give the
    same logits up to summation order. Summation order alone is ~1e-7 of the
    logit range, but the activations are rounded to 8 bits before each
    quantized matmul, and a difference of one float ulp can move an
    activation that sits on a rounding edge by a whole 8-bit step, which
    costs ~1e-3 of the range (seen with q4_K). So: 1e-2 of the range at every
    position, an order below what a wrong row or a mixed-up sequence does,
    and the same argmax."""
    path = tmp_path / f"llama_{wtype}.gguf"
    made = subprocess.run([str(tool("make_random_model")), "--arch", "llama", "--type", wtype,
                           "--out", str(path), "--seed", "3"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    alone = our_logits(path, PROMPT, BEST_ISA, chunk=1)
    rng = alone.max(axis=1) - alone.min(axis=1)
    for seqs in (4, 16):
        batched = our_logits(path, PROMPT, BEST_ISA, seqs=seqs)
        rel = np.abs(batched - alone).max(axis=1) / rng
        assert rel.max() < 1e-2, (seqs, rel)
        assert (batched.argmax(axis=1) == alone.argmax(axis=1)).all(), seqs


@pytest.mark.parametrize("arch", ["llama", "phi3"])
def test_a_split_model_gives_the_logits_of_the_whole_file(arch, tmp_path):
    """The same random model written whole and as three parts in llama.cpp's
    gguf-split layout (tensors dealt out in turn): loaded from its first
    part, every part is mapped and the logits are bit-for-bit the same."""
    def make(out, *extra):
        made = subprocess.run([str(tool("make_random_model")), "--arch", arch, "--type", "q8_0",
                               "--out", str(out), "--seed", "11", *extra],
                              capture_output=True, text=True)
        assert made.returncode == 0, made.stderr

    make(tmp_path / "whole.gguf")
    make(tmp_path / "split.gguf", "--split", "3")
    parts = [tmp_path / f"split-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    counts = [len(gguf.GGUFReader(str(p)).tensors) for p in parts]
    assert all(c > 0 for c in counts)
    assert sum(counts) == len(gguf.GGUFReader(str(tmp_path / "whole.gguf")).tensors)
    whole = our_logits(tmp_path / "whole.gguf", PROMPT, BEST_ISA)
    split = our_logits(parts[0], PROMPT, BEST_ISA)
    assert np.array_equal(whole, split)


def test_a_tensor_the_forward_pass_does_not_read_is_a_warning(tmp_path):
    """A random model copied by the PyPI gguf writer with one extra tensor
    loads, computes the same logits, and says which tensor it ignored."""
    path = tmp_path / "llama.gguf"
    made = subprocess.run([str(tool("make_random_model")), "--arch", "llama", "--type", "q8_0",
                           "--out", str(path), "--seed", "2"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    r = gguf.GGUFReader(str(path))
    extra = tmp_path / "extra.gguf"
    w = gguf.GGUFWriter(str(extra), "llama")
    for key, f in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            w.add_array(key, f.contents())
        else:
            w.add_key_value(key, f.contents(), f.types[0])
    for t in r.tensors:  # raw_shape: the stored bytes' shape (rows of blocks)
        w.add_tensor(t.name, np.array(t.data), raw_shape=list(t.data.shape),
                     raw_dtype=t.tensor_type)
    w.add_tensor("blk.1.mystery.weight", np.ones(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    out = tmp_path / "logits.f32"
    ran = subprocess.run([str(tool("model_logits")), "--model", str(extra), "--out", str(out),
                          "--tokens", ",".join(map(str, PROMPT))], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert "warning: 1 tensor(s)" in ran.stderr and "blk.1.mystery.weight" in ran.stderr
    ours = np.fromfile(out, dtype=np.float32).reshape(len(PROMPT), -1)
    assert np.array_equal(ours, our_logits(path, PROMPT, BEST_ISA))
    clean = subprocess.run([str(tool("model_logits")), "--model", str(path), "--out", str(out),
                            "--tokens", "1"], capture_output=True, text=True)
    assert clean.returncode == 0 and "warning" not in clean.stderr, clean.stderr
