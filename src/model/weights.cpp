// Binding GGUF tensors to the forward pass's weight slots.
#include "model/weights.hpp"

#include <cmath>
#include <set>
#include <string>

namespace pensieve::model {

namespace {

std::string shape_str(const std::vector<uint64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

}  // namespace

class WeightBinder {
  public:
    WeightBinder(const gguf::GgufFile& f, Weights& w) : f_(f), w_(w) {}

    const gguf::TensorInfo* find(const std::string& name, std::vector<uint64_t> dims,
                                 bool required) {
        const gguf::TensorInfo* t = f_.find_tensor(name);
        if (t == nullptr) {
            if (required) throw ModelError("missing tensor '" + name + "'");
            return nullptr;
        }
        bound_.insert(name);
        if (t->dims != dims) {
            throw ModelError("tensor '" + name + "' has shape " + shape_str(t->dims) +
                             ", expected " + shape_str(dims));
        }
        return t;
    }

    kernels::WeightMatrix matrix(const std::string& name, int64_t k, int64_t n,
                                 bool required = true) {
        const gguf::TensorInfo* t =
            find(name, {static_cast<uint64_t>(k), static_cast<uint64_t>(n)}, required);
        if (t == nullptr) return {};
        const kernels::TypeTraits* tr = kernels::find_traits(t->type);
        if (tr == nullptr || tr->vec_dot == nullptr) {
            throw ModelError("tensor '" + name + "' has type " +
                             std::string(gguf::type_info(t->type).name) +
                             ", which the kernels do not support");
        }
        kernels::WeightMatrix m;
        m.type = t->type;
        m.data = t->data;
        m.n = n;
        m.k = k;
        m.row_stride = kernels::row_bytes(*tr, k);
        return m;
    }

    // A 3-D tensor of `count` [n][k] matrices.
    Experts experts(const std::string& name, int64_t k, int64_t n, int64_t count) {
        const gguf::TensorInfo* t =
            find(name,
                 {static_cast<uint64_t>(k), static_cast<uint64_t>(n), static_cast<uint64_t>(count)},
                 /*required=*/true);
        const kernels::TypeTraits* tr = kernels::find_traits(t->type);
        if (tr == nullptr || tr->vec_dot == nullptr || k % tr->block_elems != 0) {
            throw ModelError("tensor '" + name + "' has type " +
                             std::string(gguf::type_info(t->type).name) +
                             ", which the kernels do not support");
        }
        Experts e;
        e.first.type = t->type;
        e.first.data = t->data;
        e.first.n = n;
        e.first.k = k;
        e.first.row_stride = kernels::row_bytes(*tr, k);
        e.stride = e.first.row_stride * static_cast<size_t>(n);
        e.count = count;
        return e;
    }

    const float* vector(const std::string& name, int64_t n, bool required = true) {
        const gguf::TensorInfo* t = find(name, {static_cast<uint64_t>(n)}, required);
        if (t == nullptr) return nullptr;
        if (t->type == gguf::TensorType::F32) return reinterpret_cast<const float*>(t->data);
        const kernels::TypeTraits* tr = kernels::find_traits(t->type);
        if (tr == nullptr || n % tr->block_elems != 0) {
            throw ModelError("tensor '" + name + "' has an unsupported type for a vector");
        }
        std::vector<float>& out = w_.converted_.emplace_back(static_cast<size_t>(n));
        tr->dequantize_row(t->data, out.data(), n);
        return out.data();
    }

    // A vector computed at load, kept with the weights.
    const float* keep(std::vector<float> v) {
        return w_.converted_.emplace_back(std::move(v)).data();
    }

    bool has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }

    // Every tensor of the file that no slot took, in file order.
    std::vector<std::string> unbound() const {
        std::vector<std::string> out;
        for (const gguf::TensorInfo& t : f_.tensors()) {
            if (!bound_.contains(t.name)) out.push_back(t.name);
        }
        return out;
    }

  private:
    const gguf::GgufFile& f_;
    Weights& w_;
    std::set<std::string> bound_;
};

namespace {

// Rows [first, first + n) of m, as a matrix of their own.
kernels::WeightMatrix rows(const kernels::WeightMatrix& m, int64_t first, int64_t n) {
    kernels::WeightMatrix r = m;
    r.data = static_cast<const uint8_t*>(m.data) + static_cast<size_t>(first) * m.row_stride;
    r.n = n;
    return r;
}

// The router, the experts and (qwen2moe) the shared expert of one layer,
// with its attention matrices. Returns the bytes one token reads: the
// router, n_expert_used experts and the rest.
uint64_t bind_moe(WeightBinder& b, const std::string& p, const HParams& hp, LayerWeights& l) {
    const int64_t e = hp.n_embd, f = hp.n_ff_exp, n = hp.n_expert;
    l.router = b.matrix(p + "ffn_gate_inp.weight", e, n);
    l.gate_exps = b.experts(p + "ffn_gate_exps.weight", e, f, n);
    l.up_exps = b.experts(p + "ffn_up_exps.weight", e, f, n);
    l.down_exps = b.experts(p + "ffn_down_exps.weight", f, e, n);
    uint64_t bytes = 0;
    for (const auto* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.router}) {
        bytes += m->row_stride * static_cast<uint64_t>(m->n);
    }
    for (const Experts* x : {&l.gate_exps, &l.up_exps, &l.down_exps}) {
        bytes += x->stride * static_cast<uint64_t>(hp.n_expert_used);
    }
    if (hp.config.shared_expert) {
        const int64_t fs = hp.n_ff_shexp;
        l.gate_shexp = b.matrix(p + "ffn_gate_shexp.weight", e, fs);
        l.up_shexp = b.matrix(p + "ffn_up_shexp.weight", e, fs);
        l.down_shexp = b.matrix(p + "ffn_down_shexp.weight", fs, e);
        l.shexp_gate = b.vector(p + "ffn_gate_inp_shexp.weight", e);
        for (const auto* m : {&l.gate_shexp, &l.up_shexp, &l.down_shexp}) {
            bytes += m->row_stride * static_cast<uint64_t>(m->n);
        }
    }
    return bytes;
}

}  // namespace

Weights bind_weights(const gguf::GgufFile& file, HParams& hp) {
    Weights w;
    WeightBinder b(file, w);
    const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
    if (embd == nullptr) throw ModelError("missing tensor 'token_embd.weight'");
    if (embd->dims.size() != 2) throw ModelError("tensor 'token_embd.weight' is not a matrix");
    if (hp.n_vocab > static_cast<int64_t>(embd->dims[1])) {
        throw ModelError("the vocabulary has " + std::to_string(hp.n_vocab) +
                         " tokens but 'token_embd.weight' only " + std::to_string(embd->dims[1]) +
                         " rows");
    }
    hp.n_vocab = static_cast<int64_t>(embd->dims[1]);
    const int64_t e = hp.n_embd;
    w.token_embd = b.matrix("token_embd.weight", e, hp.n_vocab);
    w.output_norm = b.vector("output_norm.weight", e);
    w.output = b.matrix("output.weight", e, hp.n_vocab, /*required=*/false);
    if (w.output.data == nullptr) w.output = w.token_embd;  // tied embeddings

    const ArchConfig& c = hp.config;
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        LayerWeights l;
        l.attn_norm = b.vector(p + "attn_norm.weight", e);
        if (b.has(p + "attn_qkv.weight")) {  // phi3: q, k and v rows in one tensor
            const kernels::WeightMatrix qkv =
                b.matrix(p + "attn_qkv.weight", e, hp.q_dim() + 2 * hp.kv_dim());
            l.wq = rows(qkv, 0, hp.q_dim());
            l.wk = rows(qkv, hp.q_dim(), hp.kv_dim());
            l.wv = rows(qkv, hp.q_dim() + hp.kv_dim(), hp.kv_dim());
        } else {
            l.wq = b.matrix(p + "attn_q.weight", e, hp.q_dim());
            l.wk = b.matrix(p + "attn_k.weight", e, hp.kv_dim());
            l.wv = b.matrix(p + "attn_v.weight", e, hp.kv_dim());
        }
        l.wo = b.matrix(p + "attn_output.weight", hp.q_dim(), e);
        if (c.qkv_bias) {
            l.bq = b.vector(p + "attn_q.bias", hp.q_dim());
            l.bk = b.vector(p + "attn_k.bias", hp.kv_dim());
            l.bv = b.vector(p + "attn_v.bias", hp.kv_dim());
        }
        if (c.qk_norm) {
            l.q_norm = b.vector(p + "attn_q_norm.weight", hp.head_dim);
            l.k_norm = b.vector(p + "attn_k_norm.weight", hp.head_dim);
        }
        if (c.post_norms) {
            l.post_attn_norm = b.vector(p + "post_attention_norm.weight", e);
            l.post_ffn_norm = b.vector(p + "post_ffw_norm.weight", e);
        }
        l.ffn_norm = b.vector(p + "ffn_norm.weight", e);
        if (c.moe) {
            w.matrix_bytes += bind_moe(b, p, hp, l);
            w.layers.push_back(l);
            continue;
        }
        if (c.fused_gate_up) {
            const kernels::WeightMatrix up = b.matrix(p + "ffn_up.weight", e, 2 * hp.n_ff);
            l.w_gate = rows(up, 0, hp.n_ff);
            l.w_up = rows(up, hp.n_ff, hp.n_ff);
        } else {
            l.w_gate = b.matrix(p + "ffn_gate.weight", e, hp.n_ff);
            l.w_up = b.matrix(p + "ffn_up.weight", e, hp.n_ff);
        }
        l.w_down = b.matrix(p + "ffn_down.weight", hp.n_ff, e);
        for (const auto* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
            w.matrix_bytes += m->row_stride * static_cast<uint64_t>(m->n);
        }
        w.layers.push_back(l);
    }
    w.matrix_bytes += w.output.row_stride * static_cast<uint64_t>(w.output.n);

    const int64_t pairs = hp.rope_dims / 2;
    w.rope_freqs = b.vector("rope_freqs.weight", pairs, /*required=*/false);
    w.rope_short = b.vector("rope_factors_short.weight", pairs, /*required=*/false);
    w.rope_long = b.vector("rope_factors_long.weight", pairs, /*required=*/false);
    if ((w.rope_short == nullptr) != (w.rope_long == nullptr)) {
        throw ModelError(
            "the file has only one of 'rope_factors_short.weight' and "
            "'rope_factors_long.weight'");
    }
    if (hp.yarn_factor > 0) {  // YaRN's divisors take rope_freqs' place
        if (w.rope_freqs != nullptr || w.rope_short != nullptr) {
            throw ModelError("the file sets YaRN RoPE scaling and also has RoPE factor tensors");
        }
        w.rope_freqs = b.keep(yarn_freq_factors(hp));
    }
    for (const float* f : {w.rope_freqs, w.rope_short, w.rope_long}) {
        for (int64_t i = 0; f != nullptr && i < pairs; ++i) {
            if (!(std::isfinite(f[i]) && f[i] > 0)) {
                throw ModelError("a RoPE frequency factor is not a positive number");
            }
        }
    }
    w.unused_tensors = b.unbound();
    return w;
}

}  // namespace pensieve::model
