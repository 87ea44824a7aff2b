"""An independent reference forward pass in NumPy over the PyPI `gguf`
package's dequantization, for checking Pensieve's model code.

It shares nothing with the C++ engine: weights are dequantized by
`gguf.quants.dequantize`, activations stay in float32 without any
quantization, and every step is written out from the architectures'
published definitions (Llama incl. Llama 3.1's RoPE factors and Mistral's
sliding window, Qwen2, Qwen3, Gemma 3, Phi-3 with its fused tensors, partial
rotary and LongRoPE, YaRN RoPE scaling for any of them, Ministral 3's
attention temperature, and the mixtures of experts Qwen3-MoE and Qwen2-MoE)
as GGUF stores them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import gguf


@dataclass
class HParams:
    arch: str
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    eps: float
    rope_base: float
    rope_dims: int
    neox: bool
    sliding_window: int = 0          # gemma3: window of the local layers
    swa_pattern: int = 0             # gemma3: every n-th layer is global
    rope_base_local: float = 10000.0  # gemma3: RoPE base of the local layers
    attn_scale: float = 0.0
    n_ctx_orig: int = 0              # LongRoPE: context of the short factors
    rope_attn_factor: float = 1.0    # LongRoPE, YaRN: multiplies cos and sin
    yarn_factor: float = 0.0         # YaRN's context extension factor (0: none)
    yarn_beta_fast: float = 32.0
    yarn_beta_slow: float = 1.0
    attn_temp_scale: float = 0.0     # mistral3: Llama 4's attention temperature beta
    n_expert_used: int = 0           # mixture of experts: experts per token
    expert_weights_norm: bool = False  # renormalise the chosen experts' weights


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def read_hparams(reader) -> HParams:
    arch = _field(reader, "general.architecture")
    g = lambda k, d=None: _field(reader, f"{arch}.{k}", d)
    n_embd = g("embedding_length")
    n_head = g("attention.head_count")
    head_dim = g("attention.key_length", n_embd // n_head)
    hp = HParams(
        arch=arch,
        n_embd=n_embd,
        n_layer=g("block_count"),
        n_head=n_head,
        n_head_kv=g("attention.head_count_kv", n_head),
        head_dim=head_dim,
        n_ff=g("feed_forward_length"),
        eps=g("attention.layer_norm_rms_epsilon"),
        rope_base=g("rope.freq_base", 10000.0),
        rope_dims=g("rope.dimension_count", head_dim),
        # mistral3 is permuted like llama
        neox=arch in ("qwen2", "qwen3", "gemma3", "phi3", "qwen3moe", "qwen2moe"),
    )
    if arch in ("qwen3moe", "qwen2moe"):
        hp.n_expert_used = g("expert_used_count")
        # Hugging Face's norm_topk_prob: true for Qwen3-MoE, false for Qwen2-MoE.
        hp.expert_weights_norm = bool(g("expert_weights_norm", arch == "qwen3moe"))
    if arch == "gemma3":
        hp.sliding_window = g("attention.sliding_window", 0)
        hp.swa_pattern = 6
    if arch in ("llama", "mistral3", "phi3"):  # a window, when set, covers every layer
        hp.sliding_window = g("attention.sliding_window", 0)
    hp.n_ctx_orig = g("rope.scaling.original_context_length", g("context_length", 2048))
    hp.rope_attn_factor = g("rope.scaling.attn_factor", 1.0)
    if g("rope.scaling.type") == "yarn":
        hp.yarn_factor = g("rope.scaling.factor")
        hp.yarn_beta_fast = g("rope.scaling.yarn_beta_fast", 32.0)
        hp.yarn_beta_slow = g("rope.scaling.yarn_beta_slow", 1.0)
        hp.rope_attn_factor = g("rope.scaling.attn_factor", yarn_attention_factor(
            hp.yarn_factor, g("rope.scaling.yarn_log_multiplier")))
    if arch == "mistral3":
        hp.attn_temp_scale = g("attention.temperature_scale", 0.0)
    hp.attn_scale = 1.0 / math.sqrt(head_dim)
    return hp


def yarn_attention_factor(factor, mscale_all_dim):
    """Hugging Face's YaRN attention_factor: get_mscale(factor, mscale) /
    get_mscale(factor, mscale_all_dim) when both are set (llama.cpp's
    converter writes mscale_all_dim as yarn_log_multiplier and Ministral 3
    sets mscale = 1), else get_mscale(factor)."""
    def get_mscale(scale, mscale=1.0):
        return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0
    if mscale_all_dim:
        return get_mscale(factor, 1.0) / get_mscale(factor, mscale_all_dim)
    return get_mscale(factor)


def yarn_divisors(hp: HParams) -> np.ndarray:
    """YaRN's inverse frequencies as Hugging Face's _compute_yarn_parameters
    blends them (truncated correction range), returned as divisors of the
    plain RoPE frequencies for rope()'s `factors`."""
    dim, base, orig = hp.rope_dims, hp.rope_base, hp.n_ctx_orig

    def correction_dim(num_rotations):
        return (dim * math.log(orig / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    low = max(math.floor(correction_dim(hp.yarn_beta_fast)), 0)
    high = min(math.ceil(correction_dim(hp.yarn_beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
    extrapolation = 1.0 - ramp
    pos_freqs = base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    inv_extrapolation = 1.0 / pos_freqs
    inv_interpolation = 1.0 / (hp.yarn_factor * pos_freqs)
    inv = inv_interpolation * (1 - extrapolation) + inv_extrapolation * extrapolation
    return inv_extrapolation / inv


def attention_temperature(hp: HParams, positions) -> np.ndarray:
    """Hugging Face's Ministral3Attention: queries × 1 + beta ·
    ln(1 + floor(pos / original_max_position_embeddings))."""
    return 1.0 + hp.attn_temp_scale * np.log1p(np.floor(positions / hp.n_ctx_orig))


class Weights:
    """Dequantized tensors by GGUF name, as float32 arrays shaped [rows, cols]
    (numpy order: the GGUF ne[0] is the last axis)."""

    def __init__(self, reader):
        self._tensors = {t.name: t for t in reader.tensors}
        self._cache: dict[str, np.ndarray] = {}

    def __contains__(self, name):
        return name in self._tensors

    def __getitem__(self, name) -> np.ndarray:
        if name not in self._cache:
            t = self._tensors[name]
            data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            shape = [int(d) for d in reversed(t.shape)]
            self._cache[name] = data.reshape(shape)
        return self._cache[name]


def rms_norm(x, w, eps):
    x = x.astype(np.float32)
    y = x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True) + eps)
    return (y * w).astype(np.float32)


def rope(x, positions, base, n_dims, neox, factors=None, mscale=1.0):
    """x: [T, heads, head_dim]; rotates the first n_dims dims of each head.
    factors: [n_dims/2] divisors of each pair's frequency (Llama 3.1's
    rope_freqs; Phi-3's LongRoPE ext_factors); mscale multiplies cos and sin."""
    x = x.copy()
    half = n_dims // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_dims)
    if factors is not None:
        inv = inv / factors.astype(np.float64)
    ang = positions[:, None].astype(np.float64) * inv[None, :]  # [T, half]
    cos = np.cos(ang)[:, None, :] * mscale
    sin = np.sin(ang)[:, None, :] * mscale
    if neox:
        a, b = x[..., :half].copy(), x[..., half:n_dims].copy()
        x[..., :half] = a * cos - b * sin
        x[..., half:n_dims] = a * sin + b * cos
    else:
        a, b = x[..., 0:n_dims:2].copy(), x[..., 1:n_dims:2].copy()
        x[..., 0:n_dims:2] = a * cos - b * sin
        x[..., 1:n_dims:2] = a * sin + b * cos
    return x.astype(np.float32)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def linear(w, x, bias=None):
    y = x @ w.T
    return y + bias if bias is not None else y


def moe_ffn(W, p, h, hp, margins=None):
    """Hugging Face's Qwen3MoeSparseMoeBlock / Qwen2MoeSparseMoeBlock on h
    [T, n_embd]: softmax of the router logits over every expert, the top
    n_expert_used (a stable sort: of equal logits the lower expert index
    first), their probabilities (renormalised to sum 1 when
    expert_weights_norm) weighting each chosen expert's SwiGLU FFN; Qwen2-MoE
    adds a shared expert scaled by sigmoid(ffn_gate_inp_shexp · h).
    margins, when given ([T]), is lowered to each token's gap between its
    last chosen expert's logit and the best unchosen one, relative to the
    spread (standard deviation) of its logits."""
    logits = linear(W[p + "ffn_gate_inp.weight"], h).astype(np.float64)  # [T, n_expert]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    gate, up, down = (W[p + f"ffn_{n}_exps.weight"] for n in ("gate", "up", "down"))
    out = np.zeros(h.shape, dtype=np.float64)
    for t in range(h.shape[0]):
        order = np.argsort(-logits[t], kind="stable")
        chosen = order[:hp.n_expert_used]
        if margins is not None and hp.n_expert_used < len(order):
            gap = logits[t, order[hp.n_expert_used - 1]] - logits[t, order[hp.n_expert_used]]
            margins[t] = min(margins[t], gap / logits[t].std())
        weights = probs[t, chosen]
        if hp.expert_weights_norm:
            weights = weights / weights.sum()
        for e, wt in zip(chosen, weights):
            act = silu(gate[e] @ h[t]) * (up[e] @ h[t])
            out[t] += wt * (down[e] @ act.astype(np.float32))
    if p + "ffn_gate_inp_shexp.weight" in W:
        act = silu(linear(W[p + "ffn_gate_shexp.weight"], h)) * linear(W[p + "ffn_up_shexp.weight"], h)
        shared = linear(W[p + "ffn_down_shexp.weight"], act.astype(np.float32))
        scale = 1.0 / (1.0 + np.exp(-(h.astype(np.float64) @ W[p + "ffn_gate_inp_shexp.weight"])))
        out += scale[:, None] * shared
    return out.astype(np.float32)


def forward(reader, tokens, weights: Weights | None = None, router_margins=None) -> np.ndarray:
    """Logits [T, vocab] for one sequence of token ids at positions 0..T-1.
    router_margins: an array [T] of inf, lowered to each token's smallest
    routing margin over the layers (see moe_ffn), for mixtures of experts."""
    hp = read_hparams(reader)
    W = weights or Weights(reader)
    T = len(tokens)
    pos = np.arange(T)
    x = W["token_embd.weight"][np.asarray(tokens)].astype(np.float32)
    if hp.arch == "gemma3":
        x = x * np.float32(math.sqrt(hp.n_embd))
    group = hp.n_head // hp.n_head_kv
    # RoPE factors: Llama 3.1's fixed ones, or LongRoPE's set for the context
    # (long past the short factors' context; the context here is the
    # sequence, as the logits probe sizes its pass to the prompt).
    factors, mscale = None, 1.0
    if "rope_freqs.weight" in W:
        factors = W["rope_freqs.weight"]
    elif "rope_factors_short.weight" in W:
        factors = W["rope_factors_long.weight" if T > hp.n_ctx_orig else "rope_factors_short.weight"]
        mscale = hp.rope_attn_factor
    elif hp.yarn_factor:
        factors, mscale = yarn_divisors(hp), hp.rope_attn_factor
    q_dim, kv_dim = hp.n_head * hp.head_dim, hp.n_head_kv * hp.head_dim
    for il in range(hp.n_layer):
        p = f"blk.{il}."
        h = rms_norm(x, W[p + "attn_norm.weight"], hp.eps)
        bias = lambda n: W[p + n + ".bias"] if (p + n + ".bias") in W else None
        if p + "attn_qkv.weight" in W:  # phi3: q, k, v rows of one matrix
            qkv = linear(W[p + "attn_qkv.weight"], h)
            q, k, v = qkv[:, :q_dim], qkv[:, q_dim:q_dim + kv_dim], qkv[:, q_dim + kv_dim:]
        else:
            q = linear(W[p + "attn_q.weight"], h, bias("attn_q"))
            k = linear(W[p + "attn_k.weight"], h, bias("attn_k"))
            v = linear(W[p + "attn_v.weight"], h, bias("attn_v"))
        q = q.reshape(T, hp.n_head, hp.head_dim)
        k = k.reshape(T, hp.n_head_kv, hp.head_dim)
        v = v.reshape(T, hp.n_head_kv, hp.head_dim)
        if p + "attn_q_norm.weight" in W:  # qwen3, gemma3: per-head RMSNorm of q and k
            q = rms_norm(q, W[p + "attn_q_norm.weight"], hp.eps)
            k = rms_norm(k, W[p + "attn_k_norm.weight"], hp.eps)
        is_local = hp.swa_pattern and (il + 1) % hp.swa_pattern != 0
        base = hp.rope_base_local if is_local else hp.rope_base
        q = rope(q, pos, base, hp.rope_dims, hp.neox, factors, mscale)
        k = rope(k, pos, base, hp.rope_dims, hp.neox, factors, mscale)
        if hp.attn_temp_scale:
            q = (q * attention_temperature(hp, pos)[:, None, None]).astype(np.float32)
        mask = np.where(pos[None, :] <= pos[:, None], 0.0, -np.inf)  # [Tq, Tk] causal
        windowed = is_local if hp.swa_pattern else True
        if windowed and hp.sliding_window:
            mask = np.where(pos[:, None] - pos[None, :] >= hp.sliding_window, -np.inf, mask)
        out = np.zeros((T, hp.n_head, hp.head_dim), dtype=np.float64)
        for hd in range(hp.n_head):
            kh = k[:, hd // group, :].astype(np.float64)
            vh = v[:, hd // group, :].astype(np.float64)
            scores = (q[:, hd, :].astype(np.float64) @ kh.T) * hp.attn_scale + mask
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            out[:, hd, :] = probs @ vh
        attn = linear(W[p + "attn_output.weight"], out.reshape(T, -1).astype(np.float32))
        if p + "post_attention_norm.weight" in W:
            attn = rms_norm(attn, W[p + "post_attention_norm.weight"], hp.eps)
        x = x + attn
        h = rms_norm(x, W[p + "ffn_norm.weight"], hp.eps)
        if p + "ffn_gate_inp.weight" in W:  # a mixture of experts
            x = x + moe_ffn(W, p, h, hp, router_margins)
            continue
        if p + "ffn_gate.weight" in W:
            gate = linear(W[p + "ffn_gate.weight"], h)
            up = linear(W[p + "ffn_up.weight"], h)
        else:  # phi3: ffn_up holds the gate, then the up projection
            gate, up = np.split(linear(W[p + "ffn_up.weight"], h), 2, axis=1)
        act = gelu_tanh(gate) if hp.arch == "gemma3" else silu(gate)
        ff = linear(W[p + "ffn_down.weight"], (act * up).astype(np.float32))
        if p + "post_ffw_norm.weight" in W:
            ff = rms_norm(ff, W[p + "post_ffw_norm.weight"], hp.eps)
        x = x + ff
    x = rms_norm(x, W["output_norm.weight"], hp.eps)
    out_w = W["output.weight"] if "output.weight" in W else W["token_embd.weight"]
    return (x @ out_w.T).astype(np.float32)


if __name__ == "__main__":
    import sys, time
    r = gguf.GGUFReader(sys.argv[1])
    toks = [int(t) for t in sys.argv[2].split(",")]
    t0 = time.time()
    logits = forward(r, toks)
    print("argmax per position:", logits.argmax(axis=1).tolist(), f"({time.time()-t0:.1f}s)")
