"""The layers on the GPU (`--gpu-layers`, on the first usable Vulkan device:
Mesa's lavapipe without one) against the independent NumPy reference, as
test_forward_vs_numpy.py holds the CPU to it.

The GPU runs the layers whole: its norms sum in F32 where the CPU's use
double, its products take F32 activations (as the reference does; the
CPU's take them in 8 bits), and its keys and values are F16 whatever the
CPU cache holds; it is held to the tolerances of the CPU's own kernels.
mistral3's attention temperature keeps its layers on the CPU with only the
products on the GPU (the other path of --gpu-layers). Every weight format's
products are checked one by one in tests/unit/gpu; here one format per
family checks the layers' wiring, and Llama each format.
"""
import sys
from pathlib import Path

import gguf
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import numpy_forward  # noqa: E402
from test_forward_vs_numpy import (MAX_MEAN_KL_REAL, PROMPT, REAL_PROMPTS,  # noqa: E402
                                   TOLERANCE_F16_FAST, TOLERANCE_RANDOM, TOLERANCE_REAL,
                                   compare, mean_kl, our_logits, random_model)

CASES = [(arch, "q4_K") for arch in ["llama", "llama3.1", "mistral", "mistral3", "qwen2",
                                     "qwen2-yarn", "qwen3", "gemma3", "phi3"]]
CASES += [("llama", wtype) for wtype in ["q8_0", "q4_0", "q6_K", "f16"]]


@pytest.mark.parametrize("arch,wtype", CASES)
def test_gpu_layers_match_the_reference(arch, wtype, tmp_path):
    path, ref = random_model(tmp_path, arch, wtype)
    tolerance = TOLERANCE_F16_FAST if wtype == "f16" else TOLERANCE_RANDOM
    # Every layer; prefill in chunks (earlier chunks read back from the
    # device's cache); one token at a time; one layer on the GPU, the rest on
    # the CPU; two sequences side by side.
    compare(our_logits(path, PROMPT, "ref", gpu_layers=-1), ref, tolerance)
    compare(our_logits(path, PROMPT, "ref", chunk=5, gpu_layers=-1), ref, tolerance)
    compare(our_logits(path, PROMPT, "ref", chunk=1, gpu_layers=-1), ref, tolerance)
    compare(our_logits(path, PROMPT, "ref", chunk=5, gpu_layers=1), ref, tolerance)
    compare(our_logits(path, PROMPT, "ref", seqs=2, gpu_layers=-1), ref, tolerance)


@pytest.mark.parametrize("fixture", ["default_model", "gemma_model"])
def test_real_models_on_the_gpu_match_the_reference(request, fixture):
    path = request.getfixturevalue(fixture)
    tokens = REAL_PROMPTS[fixture]
    ref = numpy_forward.forward(gguf.GGUFReader(str(path)), tokens)
    ours = our_logits(path, tokens, "ref", gpu_layers=-1)
    compare(ours, ref, TOLERANCE_REAL)
    assert mean_kl(ours, ref) < MAX_MEAN_KL_REAL
