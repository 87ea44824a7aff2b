// Reading and validating hyper-parameters. Keys are `<arch>.<name>` as the
// GGUF specification names them; values some converters omit get the
// architecture's published defaults.
#include "model/hparams.hpp"

#include <cmath>

namespace pensieve::model {
namespace {

constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxDim = 1 << 20;

ArchConfig config_for(const std::string& arch) {
    ArchConfig c;
    if (arch == "llama") return c;
    if (arch == "qwen2") {
        c.rope_style = kernels::RopeStyle::NeoX;
        c.qkv_bias = true;
        return c;
    }
    if (arch == "qwen3") {
        c.rope_style = kernels::RopeStyle::NeoX;
        c.qk_norm = true;
        return c;
    }
    if (arch == "qwen3moe") {  // Qwen3 attention; Hugging Face's norm_topk_prob is true
        c.rope_style = kernels::RopeStyle::NeoX;
        c.qk_norm = true;
        c.moe = true;
        c.moe_norm_default = true;
        return c;
    }
    if (arch == "qwen2moe") {  // Qwen2 attention; norm_topk_prob false, a shared expert
        c.rope_style = kernels::RopeStyle::NeoX;
        c.qkv_bias = true;
        c.moe = true;
        c.shared_expert = true;
        return c;
    }
    if (arch == "gemma3") {
        c.rope_style = kernels::RopeStyle::NeoX;
        c.activation = Activation::GeLU;
        c.qk_norm = true;
        c.post_norms = true;
        c.embed_scale = true;
        c.swa_pattern = 6;  // Gemma 3: five local layers, then one global
        return c;
    }
    if (arch == "phi3") {  // Phi-3, Phi-3.5, Phi-4-mini
        c.rope_style = kernels::RopeStyle::NeoX;
        c.fused_gate_up = true;
        return c;
    }
    if (arch == "mistral3") {
        throw ModelError(
            "unsupported architecture 'mistral3' (Ministral 3: needs YaRN RoPE and attention "
            "temperature scaling, not supported yet; Mistral models written as 'llama' load)");
    }
    throw ModelError("unsupported architecture '" + arch +
                     "' (supported: llama (incl. Mistral), qwen2, qwen3, gemma3, phi3, qwen3moe, "
                     "qwen2moe)");
}

class Reader {
  public:
    Reader(const gguf::GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

    int64_t required_int(const std::string& name, int64_t lo, int64_t hi) const {
        const auto v = f_.get_int(key(name));
        if (!v) throw ModelError("missing metadata key '" + key(name) + "'");
        return checked(name, *v, lo, hi);
    }
    int64_t optional_int(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
        const auto v = f_.get_int(key(name));
        return checked(name, v.value_or(fallback), lo, hi);
    }
    float optional_float(const std::string& name, float fallback) const {
        const auto v = f_.get_float(key(name));
        if (v && !(std::isfinite(*v) && *v > 0)) {
            throw ModelError("'" + key(name) + "' must be a positive number");
        }
        return v ? static_cast<float>(*v) : fallback;
    }
    std::string key(const std::string& name) const { return arch_ + "." + name; }

  private:
    int64_t checked(const std::string& name, int64_t v, int64_t lo, int64_t hi) const {
        if (v < lo || v > hi) {
            throw ModelError("'" + key(name) + "' = " + std::to_string(v) + " is outside " +
                             std::to_string(lo) + ".." + std::to_string(hi));
        }
        return v;
    }
    const gguf::GgufFile& f_;
    std::string arch_;
};

// The expert counts and sizes. Where a file omits the expert FFN length,
// llama.cpp takes the dense length over the experts used; the weights'
// shapes are checked against it when they are bound.
void read_moe(const Reader& r, const gguf::GgufFile& file, HParams& h) {
    h.n_expert = r.required_int("expert_count", 1, 4096);
    h.n_expert_used = r.required_int("expert_used_count", 1, h.n_expert);
    h.n_ff_exp = r.optional_int("expert_feed_forward_length", h.n_ff / h.n_expert_used, 1, kMaxDim);
    if (h.config.shared_expert) {
        h.n_ff_shexp = r.optional_int("expert_shared_feed_forward_length", h.n_ff, 1, kMaxDim);
    }
    const auto norm = file.get_bool(r.key("expert_weights_norm"));
    h.expert_weights_norm = norm.value_or(h.config.moe_norm_default);
}

}  // namespace

HParams read_hparams(const gguf::GgufFile& file) {
    HParams h;
    try {
        const auto arch = file.get_string("general.architecture");
        if (!arch) throw ModelError("missing metadata key 'general.architecture'");
        h.arch = *arch;
        h.config = config_for(h.arch);
        const Reader r(file, h.arch);
        h.n_embd = r.required_int("embedding_length", 1, kMaxDim);
        h.n_layer = r.required_int("block_count", 1, kMaxLayers);
        h.n_ff = r.required_int("feed_forward_length", 1, kMaxDim);
        h.n_head = r.required_int("attention.head_count", 1, 4096);
        h.n_head_kv = r.optional_int("attention.head_count_kv", h.n_head, 1, h.n_head);
        if (h.n_head % h.n_head_kv != 0) {
            throw ModelError("head count " + std::to_string(h.n_head) +
                             " is not a multiple of the KV head count " +
                             std::to_string(h.n_head_kv));
        }
        if (h.n_embd % h.n_head != 0 && !file.get_int(r.key("attention.key_length"))) {
            throw ModelError("embedding length " + std::to_string(h.n_embd) +
                             " is not divisible by the head count " + std::to_string(h.n_head));
        }
        h.head_dim = r.optional_int("attention.key_length", h.n_embd / h.n_head, 2, 4096);
        const int64_t value_dim = r.optional_int("attention.value_length", h.head_dim, 1, 4096);
        if (value_dim != h.head_dim) {
            throw ModelError("value length " + std::to_string(value_dim) +
                             " differs from key length " + std::to_string(h.head_dim) +
                             " (not supported)");
        }
        h.n_ctx_train = r.optional_int("context_length", 2048, 1, int64_t{1} << 24);
        h.rms_eps = r.optional_float("attention.layer_norm_rms_epsilon", 1e-5f);
        h.rope_base = r.optional_float("rope.freq_base", 10000.0f);
        h.rope_dims = r.optional_int("rope.dimension_count", h.head_dim, 2, h.head_dim);
        if (h.rope_dims % 2 != 0)
            throw ModelError("'" + r.key("rope.dimension_count") + "' is odd");
        const auto scaling = file.get_string(r.key("rope.scaling.type"));
        if (scaling && *scaling == "linear") {
            h.rope_scale = 1.0f / r.optional_float("rope.scaling.factor", 1.0f);
        } else if (scaling &&
                   (*scaling == "longrope" || *scaling == "su" || *scaling == "llama3")) {
            // Per-dimension factors, carried as tensors (rope_factors_long/short,
            // rope_freqs) and bound with the weights.
        } else if (scaling && *scaling != "none") {
            throw ModelError("RoPE scaling '" + *scaling + "' is not supported yet");
        }
        // Gemma 3's local layers, or every layer of a llama (Mistral 7B v0.1)
        // or phi3 file that sets a window (Hugging Face's reading: Phi-3-mini
        // attends within 2047 positions; Phi-3.5 and Phi-4-mini set a window
        // longer than their context, which changes nothing).
        if (h.config.swa_pattern > 0 || h.arch == "llama" || h.arch == "phi3") {
            h.sliding_window = r.optional_int("attention.sliding_window", 0, 0, int64_t{1} << 24);
        }
        h.n_ctx_orig = r.optional_int("rope.scaling.original_context_length", h.n_ctx_train, 1,
                                      int64_t{1} << 24);
        h.rope_attn_factor = r.optional_float("rope.scaling.attn_factor", 1.0f);
        h.attn_scale = 1.0f / std::sqrt(static_cast<float>(h.head_dim));
        if (h.config.moe) read_moe(r, file, h);
        const gguf::Array* tokens = file.get_array("tokenizer.ggml.tokens");
        h.n_vocab = tokens ? static_cast<int64_t>(tokens->count)
                           : r.optional_int("vocab_size", 0, 0, int64_t{1} << 24);
    } catch (const gguf::Error& e) {
        throw ModelError(e.what());  // a key of the wrong type
    }
    return h;
}

}  // namespace pensieve::model
