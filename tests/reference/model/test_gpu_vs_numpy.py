"""The layers on the GPU (`--gpu-layers`, on the first usable Vulkan device:
Mesa's lavapipe without one) against the independent NumPy reference, as
test_forward_vs_numpy.py holds the CPU to it.

The GPU runs the layers whole, and its products take F32 activations as the
reference does (the CPU's kernels round them to 8 bits): what is left is its
F16 keys and values and the order of float sums, about 2e-4 of the logit
range on the random models and 6e-4 on the real ones (the CPU's kernels:
1% and 3-4%). So every layer on the GPU is held to TOLERANCE_F16 (real
models: 0.5% and a mean KL under 1e-4), and a mix of GPU and CPU layers to
the CPU's tolerances. mistral3's attention temperature keeps its layers on
the CPU with only the products on the GPU (the other path of
--gpu-layers). Every weight format's products are checked one by one in
tests/unit/gpu; here one format per family checks the layers' wiring, and
Llama a legacy and a float format.
"""
import sys
from pathlib import Path

import gguf
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import numpy_forward  # noqa: E402
from test_forward_vs_numpy import (PROMPT, REAL_PROMPTS, TOLERANCE_F16,  # noqa: E402
                                   TOLERANCE_F16_FAST, TOLERANCE_RANDOM, compare, mean_kl,
                                   our_logits, random_model)

TOLERANCE_GPU_REAL = 0.005
MAX_MEAN_KL_GPU_REAL = 1e-4

CASES = [(arch, "q4_K") for arch in ["llama", "llama3.1", "mistral", "mistral3", "qwen2",
                                     "qwen2-yarn", "qwen3", "gemma3", "phi3"]]
CASES += [("llama", "q8_0"), ("llama", "f16")]


@pytest.mark.parametrize("arch,wtype", CASES)
def test_gpu_layers_match_the_reference(arch, wtype, tmp_path):
    path, ref = random_model(tmp_path, arch, wtype)
    # Every layer; prefill in chunks (earlier chunks read back from the
    # device's cache); one token at a time; two sequences side by side.
    for run in [{}, {"chunk": 5}, {"chunk": 1}, {"seqs": 2}]:
        compare(our_logits(path, PROMPT, "ref", gpu_layers=-1, **run), ref, TOLERANCE_F16)
    # One layer on the GPU, the rest on the CPU's reference kernels.
    mixed = TOLERANCE_F16_FAST if wtype == "f16" else TOLERANCE_RANDOM
    compare(our_logits(path, PROMPT, "ref", chunk=5, gpu_layers=1), ref, mixed)


@pytest.mark.parametrize("fixture", ["default_model", "gemma_model"])
def test_real_models_on_the_gpu_match_the_reference(request, fixture):
    path = request.getfixturevalue(fixture)
    tokens = REAL_PROMPTS[fixture]
    ref = numpy_forward.forward(gguf.GGUFReader(str(path)), tokens)
    ours = our_logits(path, tokens, "ref", gpu_layers=-1)
    compare(ours, ref, TOLERANCE_GPU_REAL)
    assert mean_kl(ours, ref) < MAX_MEAN_KL_GPU_REAL
