"""The AMX tile path (PENSIEVE_CPU=amx: AVX-512 plus AMX-INT8 tiles for
batches of 8 rows or more) through whole forward passes, where it runs for
prefill and for decode steps of many sequences.

tests/reference/model/ checks the scalar reference and AVX-512 variants
against an independent NumPy forward pass; here the same NumPy reference
checks the AMX variant on random models of every format the tiles serve.
The tiles sum a row's blocks in another order than the AVX-512 kernels, and
each layer re-quantizes its activations to 8 bits, so a last-bit difference
can move a quant by one step: AMX and AVX-512 logits differ by ~0.5% of the
range, like any two variants, hence the NumPy tolerance. Within AMX, a row's
result does not depend on the other rows of its batch, so decoding several
sequences side by side must give the logits of one prefill exactly. Skipped
where the CPU or the OS offers no AMX.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gguf  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
import numpy_forward  # noqa: E402
import test_forward_vs_numpy as fwd  # noqa: E402


def amx_available():
    probe = fwd.build_dir() / "tools" / "pensieve-kernels-probe"
    assert probe.exists(), f"{probe} not built (build target pensieve-kernels-probe)"
    got = subprocess.run([str(probe), "isa"], env=dict(os.environ, PENSIEVE_CPU="amx"),
                         capture_output=True, text=True)
    return got.stdout.strip() == "amx"


pytestmark = pytest.mark.skipif(not amx_available(), reason="no AMX on this machine")


def random_model(wtype, tmp_path, arch="llama"):
    path = tmp_path / f"{arch}_{wtype}.gguf"
    made = subprocess.run([str(fwd.tool("make_random_model")), "--arch", arch, "--type", wtype,
                           "--out", str(path), "--seed", "7"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return path


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
@pytest.mark.parametrize("wtype", ["q4_0", "q4_1", "q8_0", "q4_K"])
def test_amx_prefill_matches_the_numpy_reference(arch, wtype, tmp_path):
    path = random_model(wtype, tmp_path, arch)
    ref = numpy_forward.forward(gguf.GGUFReader(str(path)), fwd.PROMPT)
    # The 12-token prompt is one batch of 12 rows: the tiles' path.
    fwd.compare(fwd.our_logits(path, fwd.PROMPT, "amx"), ref, fwd.TOLERANCE_RANDOM)


@pytest.mark.parametrize("wtype", ["q4_0", "q4_1", "q8_0", "q4_K"])
def test_amx_batched_decode_equals_amx_prefill(wtype, tmp_path):
    path = random_model(wtype, tmp_path)
    prefill = fwd.our_logits(path, fwd.PROMPT, "amx")
    rng = prefill.max(axis=1) - prefill.min(axis=1)
    for seqs in (8, 16):
        batched = fwd.our_logits(path, fwd.PROMPT, "amx", seqs=seqs)
        rel = np.abs(batched - prefill).max(axis=1) / rng
        assert rel.max() < 1e-4, (seqs, rel)


def test_amx_default_model_matches_the_reference(default_model):
    tokens = fwd.REAL_PROMPTS["default_model"]
    ref = numpy_forward.forward(gguf.GGUFReader(str(default_model)), tokens)
    ours = fwd.our_logits(default_model, tokens, "amx")
    fwd.compare(ours, ref, fwd.TOLERANCE_REAL)
    assert fwd.mean_kl(ours, ref) < fwd.MAX_MEAN_KL_REAL
