"""Our block (de)quantization against the PyPI gguf package (gguf.quants).

gguf.quants is an independent numpy re-implementation of ggml's formats. We
quantize random data with it, then ask our probe binary
(`${PENSIEVE_BUILD_DIR}/tools/pensieve-kernels-probe`, built from
tests/unit/kernels/probe/) to do the same work, and compare bit for bit:

* dequantize: for every format gguf.quants can decode, our floats must equal
  its floats exactly (compared as uint32 bit patterns);
* quantize: for every format it can encode, our bytes must equal its bytes.

Each variant (ref, avx2, avx512, amx) the CPU supports is checked: SIMD variants
of these functions are expected to be exact too.
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import gguf  # noqa: E402
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf import quants  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
BUILD = Path(os.environ.get("PENSIEVE_BUILD_DIR", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
PROBE = BUILD / "tools" / "pensieve-kernels-probe"


@pytest.fixture(autouse=True)
def probe_is_built():
    assert PROBE.exists(), f"{PROBE} not built (build target pensieve-kernels-probe)"


# Formats whose blocks gguf.quants can both encode and decode.
QUANTIZABLE = [T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
# Formats gguf.quants can only decode; random bytes are valid blocks.
DECODE_ONLY = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]


def variants():
    out = []
    for isa in ["ref", "avx2", "avx512", "amx"]:
        env = dict(os.environ, PENSIEVE_CPU=isa)
        if PROBE.exists():
            got = subprocess.run([str(PROBE), "isa"], env=env, capture_output=True, text=True)
            if got.stdout.strip() != isa:
                continue
        out.append(isa)
    return out or ["ref"]


def probe(isa, op, qtype, data: bytes, tmp_path: Path) -> bytes:
    src, dst = tmp_path / f"{op}.in", tmp_path / f"{op}.out"
    src.write_bytes(data)
    name = qtype.name.lower().replace("_k", "_K")
    env = dict(os.environ, PENSIEVE_CPU=isa)
    subprocess.run([str(PROBE), op, name, str(src), str(dst)], env=env, check=True)
    return dst.read_bytes()


def random_rows(rng, n_blocks, block):
    """Rows covering the cases that break quantizers: ordinary values over
    many magnitudes, all-zero blocks, negative zeros, one dominant outlier,
    tiny values (half-precision subnormal scales) and repeated extremes."""
    x = rng.standard_normal((n_blocks, block)).astype(np.float32)
    mags = np.float32(10.0) ** rng.uniform(-6, 4, size=(n_blocks, 1)).astype(np.float32)
    x *= mags
    x[0::17] = 0.0
    x[1::17] = -0.0
    x[2::17, 3] = 1e4  # outlier
    x[3::17] = np.float32(1e-7) * rng.standard_normal((len(x[3::17]), block))
    x[4::17] = np.where(rng.random((len(x[4::17]), block)) < 0.5, -3.0, 3.0)
    x[5::17] = rng.integers(-8, 8, size=(len(x[5::17]), block)).astype(np.float32)
    return x.astype(np.float32)


def as_bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.mark.parametrize("isa", variants())
@pytest.mark.parametrize("qtype", QUANTIZABLE, ids=lambda t: t.name)
def test_quantize_matches_gguf_bytes(isa, qtype, tmp_path):
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(int(qtype))
    x = random_rows(rng, 2048 // block * 16 if block == 1 else 1024, 32 if block == 1 else block)
    x = x.reshape(-1)
    expected = quants.quantize(x, qtype).tobytes()
    got = probe(isa, "quantize", qtype, x.tobytes(), tmp_path)
    assert len(got) == len(expected)
    mism = np.flatnonzero(np.frombuffer(got, np.uint8) != np.frombuffer(expected, np.uint8))
    assert mism.size == 0, f"{mism.size} bytes differ, first at byte {mism[:8]}"


@pytest.mark.parametrize("isa", variants())
@pytest.mark.parametrize("qtype", QUANTIZABLE + DECODE_ONLY, ids=lambda t: t.name)
def test_dequantize_matches_gguf_bits(isa, qtype, tmp_path):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(100 + int(qtype))
    if qtype in QUANTIZABLE:
        x = random_rows(rng, 1024, 32 if block == 1 else block).reshape(-1)
        raw = quants.quantize(x, qtype)
    else:
        raw = rng.integers(0, 256, size=(1024, size), dtype=np.uint8)
        fix_half_scales(raw, qtype, rng)
    expected = quants.dequantize(raw, qtype).reshape(-1)
    got = np.frombuffer(probe(isa, "dequantize", qtype, raw.tobytes(), tmp_path), np.float32)
    assert got.shape == expected.shape
    same = as_bits(got) == as_bits(expected)
    same |= np.isnan(got) & np.isnan(expected)
    bad = np.flatnonzero(~same)
    assert bad.size == 0, f"{bad.size} differ; first {bad[:4]}: {got[bad[:4]]} vs {expected[bad[:4]]}"


# Byte offsets of the float16 fields (d, dmin) inside each K block.
HALF_FIELDS = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def fix_half_scales(raw, qtype, rng):
    """Random bytes make valid blocks except where a half-precision scale is
    inf/NaN; replace those with finite random halves of varied magnitude."""
    n = raw.shape[0]
    for off in HALF_FIELDS[qtype]:
        halves = (rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 2, n)).astype(np.float16)
        halves[::13] = np.float16(0.0)
        halves[1::13] = np.float16(-0.0)
        raw[:, off:off + 2] = halves.view(np.uint8).reshape(n, 2)
