// Reading and validating hyper-parameters. Keys are `<arch>.<name>` as the
// GGUF specification names them; values some converters omit get the
// architecture's published defaults.
#include "model/hparams.hpp"

#include <algorithm>
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
    if (arch == "mistral3") return c;  // Ministral 3: llama's layout, YaRN and a temperature
    throw ModelError("unsupported architecture '" + arch +
                     "' (supported: llama (incl. Mistral), mistral3, qwen2, qwen3, gemma3, phi3, "
                     "qwen3moe, qwen2moe)");
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
    float required_float(const std::string& name, const std::string& why) const {
        if (!f_.get_float(key(name)))
            throw ModelError("missing metadata key '" + key(name) + "' (" + why + ")");
        return optional_float(name, 0.0f);
    }
    // 0 allowed: a switch that is off.
    float optional_non_negative(const std::string& name) const {
        const auto v = f_.get_float(key(name));
        if (v && !(std::isfinite(*v) && *v >= 0)) {
            throw ModelError("'" + key(name) + "' must be a number >= 0");
        }
        return v ? static_cast<float>(*v) : 0.0f;
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

// YaRN's magnitude correction on cos and sin (Hugging Face's get_mscale):
// 0.1 ln(factor) + 1, or, when the file gives mscale_all_dim (llama.cpp's
// converter writes it as yarn_log_multiplier; Ministral 3 sets it and mscale
// to 1), the ratio of the corrections with mscale = 1 and with it.
float yarn_mscale(float factor, float log_multiplier) {
    const auto mscale = [factor](double m) {
        return factor <= 1 ? 1.0 : 0.1 * m * std::log(static_cast<double>(factor)) + 1.0;
    };
    if (log_multiplier == 0) return static_cast<float>(mscale(1.0));
    return static_cast<float>(mscale(1.0) / mscale(static_cast<double>(log_multiplier)));
}

void read_yarn(const Reader& r, HParams& h) {
    h.yarn_factor = r.required_float("rope.scaling.factor", "YaRN's context extension factor");
    h.yarn_beta_fast = r.optional_float("rope.scaling.yarn_beta_fast", 32.0f);
    h.yarn_beta_slow = r.optional_float("rope.scaling.yarn_beta_slow", 1.0f);
    if (h.yarn_beta_fast <= h.yarn_beta_slow) {
        throw ModelError("'" + r.key("rope.scaling.yarn_beta_fast") + "' (" +
                         std::to_string(h.yarn_beta_fast) + ") must be greater than '" +
                         r.key("rope.scaling.yarn_beta_slow") + "' (" +
                         std::to_string(h.yarn_beta_slow) + ")");
    }
}

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

std::vector<float> yarn_freq_factors(const HParams& hp) {
    if (hp.yarn_factor <= 0) return {};
    const auto dims = static_cast<double>(hp.rope_dims);
    const double log_base = std::log(static_cast<double>(hp.rope_base));
    const auto orig = static_cast<double>(hp.n_ctx_orig);
    // The pair index whose wavelength fits `rotations` times into orig.
    const auto pair_turning = [&](double rotations) {
        return dims * std::log(orig / (rotations * 2 * M_PI)) / (2 * log_base);
    };
    const double low = std::max(std::floor(pair_turning(static_cast<double>(hp.yarn_beta_fast))), 0.0);
    const double high = std::min(std::ceil(pair_turning(static_cast<double>(hp.yarn_beta_slow))), dims - 1);
    // HF widens an empty band by 0.001; an inverted one (an original context
    // of a few positions) is read as empty too, as llama.cpp does.
    const double width = std::max(high - low, 0.001);
    const auto factor = static_cast<double>(hp.yarn_factor);
    std::vector<float> out(static_cast<size_t>(hp.rope_dims / 2));
    for (size_t i = 0; i < out.size(); ++i) {
        // ramp 0: extrapolate (the pair's own frequency); 1: interpolate (÷ factor).
        const double ramp = std::clamp((static_cast<double>(i) - low) / width, 0.0, 1.0);
        out[i] = static_cast<float>(1.0 / (ramp / factor + (1.0 - ramp)));
    }
    return out;
}

float attn_temperature(const HParams& hp, int64_t pos) {
    if (hp.attn_temp_scale == 0) return 1.0f;
    const auto periods = static_cast<double>(pos / hp.n_ctx_orig);  // floor: pos >= 0
    return static_cast<float>(1.0 + static_cast<double>(hp.attn_temp_scale) * std::log1p(periods));
}

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
        } else if (scaling && *scaling == "yarn") {
            read_yarn(r, h);
        } else if (scaling && *scaling != "none") {
            throw ModelError("RoPE scaling '" + *scaling + "' is not supported yet");
        }
        // Gemma 3's local layers, or every layer of a llama (Mistral 7B v0.1)
        // or phi3 file that sets a window (Hugging Face's reading: Phi-3-mini
        // attends within 2047 positions; Phi-3.5 and Phi-4-mini set a window
        // longer than their context, which changes nothing).
        if (h.config.swa_pattern > 0 || h.arch == "llama" || h.arch == "mistral3" ||
            h.arch == "phi3") {
            h.sliding_window = r.optional_int("attention.sliding_window", 0, 0, int64_t{1} << 24);
        }
        h.n_ctx_orig = r.optional_int("rope.scaling.original_context_length", h.n_ctx_train, 1,
                                      int64_t{1} << 24);
        h.rope_attn_factor = r.optional_float("rope.scaling.attn_factor", 1.0f);
        if (h.yarn_factor > 0 && !file.get_float(r.key("rope.scaling.attn_factor"))) {
            h.rope_attn_factor = yarn_mscale(
                h.yarn_factor, r.optional_non_negative("rope.scaling.yarn_log_multiplier"));
        }
        // Hugging Face's Ministral3Attention scales queries by position past
        // the original context; llama.cpp's converter writes its beta here.
        if (h.arch == "mistral3")
            h.attn_temp_scale = r.optional_non_negative("attention.temperature_scale");
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
