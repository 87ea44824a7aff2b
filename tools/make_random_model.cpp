// Writes a random-weight model with our GGUF writer, streaming each tensor to
// disk as it is made, so that a model of a real shape (gigabytes) never sits
// in memory:
//   make_random_model --out F [--arch llama|llama3.1|mistral|mistral3|qwen2|qwen2-yarn|
//                                     qwen3|gemma3|phi3|qwen3moe|qwen2moe]
//                     [--shape NAME]
//                     [--mix q4_k_m|q5_k_m|q6_k|q8_0|f16|bf16|TYPE] [--seed N]
//                     [--ctx N] [--window N] [--vocab N] [--tokenizer-from GGUF]
//                     [--split N] [--orig-ctx N]
//                     [--experts N] [--experts-used K] [--expert-norm 0|1]
// --ctx is the trained context written into the file (default 256 for the
// test shape, 4096 for the named ones); --orig-ctx the original context of
// LongRoPE's short factors, YaRN and mistral3's attention temperature
// (default an eighth of --ctx).
// --shape tiny (the default) is the small model of --arch that the reference
// tests compare with NumPy; the named shapes (model_shapes.hpp) are real
// models' hyper-parameters, for benchmarks. --type is another name for --mix.
// Matrices are quantized by our kernels' quantize_row (their dequantized
// values are what both our engine and the NumPy reference see). Matrices of
// a real shape repeat a pool of random rows: speed does not depend on the
// values, and drawing billions of normal samples would take minutes.
// --arch llama3.1 writes a rope_freqs tensor by Llama 3.1's rule, mistral a
// llama with a sliding window on every layer, phi3 fused attn_qkv and gate+up
// tensors with LongRoPE factors (short for contexts up to an eighth of --ctx,
// long beyond), mistral3 YaRN ×16 with the attention temperature (beta 0.1),
// qwen2-yarn a qwen2 with YaRN ×4 and only the keys Qwen2.5's files carry.
// --split N writes the model as N parts in llama.cpp's gguf-split layout
// (F.gguf becomes F-00001-of-0000N.gguf …; tensors dealt out in turn).
// --experts / --experts-used change a mixture-of-experts shape's expert
// counts (qwen3moe, qwen2moe; the test shape has 8, 2 per token);
// --expert-norm writes expert_weights_norm (renormalise the chosen experts'
// weights; absent, the family's default).
// --tokenizer-from copies a real model's tokenizer (padded with unused tokens
// up to the shape's vocabulary, or the shape's vocabulary grown to the
// tokenizer's), so that other engines (llama.cpp) load the file too.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gguf/file.hpp"
#include "gguf/writer.hpp"
#include "kernels/traits.hpp"
#include "model_shapes.hpp"
#include "registry/model_dir.hpp"

using namespace pensieve;
using gguf::TensorType;
using tools::Role;

namespace {

// Matrices up to this many elements are wholly random; larger ones repeat
// kPoolRows random rows.
constexpr uint64_t kFullyRandomElems = uint64_t{1} << 22;
constexpr uint64_t kPoolRows = 64;

uint32_t name_hash(const std::string& s) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h;
}

class Maker {
  public:
    // Tensors go to the parts in turn (one part: an ordinary file).
    Maker(std::vector<gguf::GgufWriter>& parts, uint32_t seed, const tools::ModelShape& shape,
          const tools::Mix& mix)
        : parts_(parts), seed_(seed), shape_(shape), mix_(mix) {}

    uint32_t tensors() const { return added_; }

    // A k × n matrix (k the row length) of normal values with deviation sd;
    // with count > 0, a 3-D tensor of count such matrices (a mixture's experts).
    void matrix(const std::string& name, Role role, uint32_t layer, uint64_t k, uint64_t n,
                float sd, uint64_t count = 0) {
        const TensorType type =
            tools::matrix_type(mix_, role, layer, shape_.n_layer, shape_.tied_output, k);
        const uint32_t seed = seed_ ^ name_hash(name);
        std::vector<uint64_t> dims = {k, n};
        if (count > 0) {
            dims.push_back(count);
            n *= count;  // rows of all the experts, one after another
        }
        next_part().add_tensor(name, type, dims, [=](uint8_t* data, size_t) {
            const kernels::TypeTraits& tr = kernels::traits(type);
            const size_t row = kernels::row_bytes(tr, static_cast<int64_t>(k));
            const uint64_t drawn = k * n <= kFullyRandomElems ? n : std::min(n, kPoolRows);
            std::mt19937 rng(seed);
            std::normal_distribution<float> d(0.0f, sd);
            std::vector<float> v(k);
            for (uint64_t r = 0; r < drawn; ++r) {
                for (float& x : v) x = d(rng);
                tr.quantize_row(v.data(), data + r * row, static_cast<int64_t>(k));
            }
            for (uint64_t r = drawn; r < n; ++r) {
                std::memcpy(data + r * row, data + (r * 7 % drawn) * row, row);
            }
        });
    }

    void vector(const std::string& name, uint64_t n, float mean, float sd) {
        std::vector<float> v(n);
        std::mt19937 rng(seed_ ^ name_hash(name));
        std::normal_distribution<float> d(mean, sd);
        for (float& x : v) x = d(rng);
        values(name, v);
    }

    void values(const std::string& name, const std::vector<float>& v) {
        const uint64_t n = v.size();
        std::vector<uint8_t> bytes(n * 4);
        std::memcpy(bytes.data(), v.data(), bytes.size());
        next_part().add_tensor(name, TensorType::F32, {n}, std::move(bytes));
    }

  private:
    gguf::GgufWriter& next_part() { return parts_[added_++ % parts_.size()]; }

    std::vector<gguf::GgufWriter>& parts_;
    uint32_t added_ = 0;
    uint32_t seed_;
    const tools::ModelShape& shape_;
    const tools::Mix& mix_;
};

// Copies the tokenizer.* keys of `path`, with its per-token arrays padded to
// n_vocab by unused tokens. Returns the tokenizer's vocabulary size.
uint32_t copy_tokenizer(const std::string& path, uint32_t n_vocab, gguf::GgufWriter& w) {
    const gguf::GgufFile src =
        gguf::GgufFile::open(registry::resolve_model(path, registry::models_dir()));
    const auto* tokens = src.find("tokenizer.ggml.tokens");
    const auto* list = tokens ? std::get_if<gguf::Array>(tokens) : nullptr;
    if (list == nullptr) throw std::runtime_error(path + " has no tokenizer.ggml.tokens");
    const uint64_t have = list->count;
    for (const gguf::KeyValue& kv : src.metadata()) {
        if (kv.key.rfind("tokenizer.", 0) != 0) continue;
        gguf::Value v = kv.value;
        auto* a = std::get_if<gguf::Array>(&v);
        if (a != nullptr && a->count == have && have < n_vocab) {
            const uint64_t extra = n_vocab - have;
            if (a->elem_type == gguf::ValueType::String) {
                for (uint64_t i = 0; i < extra; ++i) {
                    a->strings.push_back("<|unused_" + std::to_string(have + i) + "|>");
                }
            } else {
                const size_t elem = a->scalars.size() / have;
                const int32_t unused = 5;  // token type "unused"
                for (uint64_t i = 0; i < extra; ++i) {
                    const size_t at = a->scalars.size();
                    a->scalars.resize(at + elem, 0);
                    if (kv.key == "tokenizer.ggml.token_type")
                        std::memcpy(&a->scalars[at], &unused, 4);
                }
            }
            a->count = n_vocab;
        }
        w.set(kv.key, std::move(v));
    }
    return static_cast<uint32_t>(have);
}

// Llama 3.1's per-pair RoPE factors for a model trained on orig_ctx
// positions (scaling factor 8, low- and high-frequency factors 1 and 4): long
// wavelengths are slowed 8×, short ones kept, the band between blended.
std::vector<float> llama31_rope_freqs(uint32_t rope_dims, float base, double orig_ctx) {
    const double factor = 8, low = 1, high = 4;
    std::vector<float> out(rope_dims / 2);
    for (uint32_t i = 0; i < out.size(); ++i) {
        const double freq = std::pow(static_cast<double>(base), -2.0 * i / rope_dims);
        const double wavelen = 2 * M_PI / freq;
        double f = 1;
        if (wavelen > orig_ctx / low) {
            f = factor;
        } else if (wavelen >= orig_ctx / high) {
            const double smooth = (orig_ctx / wavelen - low) / (high - low);
            f = 1 / ((1 - smooth) / factor + smooth);
        }
        out[i] = static_cast<float>(f);
    }
    return out;
}

// LongRoPE factors shaped like Phi's: near 1 for the short context, growing
// with the wavelength for the long one.
std::vector<float> longrope_factors(uint32_t rope_dims, bool long_context) {
    std::vector<float> out(rope_dims / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        const double t = static_cast<double>(i) / static_cast<double>(out.size());
        out[i] = static_cast<float>(long_context ? 1 + 40 * t * t : 1 + 0.2 * t);
    }
    return out;
}

// A mixture-of-experts FFN: the router (F32, as llama.cpp's quantizer
// leaves it), the experts as 3-D tensors, and qwen2moe's gated shared expert.
void add_experts(Maker& m, const tools::ModelShape& s, uint32_t il, float sd) {
    const std::string p = "blk." + std::to_string(il) + ".";
    m.matrix(p + "ffn_gate_inp.weight", Role::Router, il, s.n_embd, s.n_expert, sd);
    m.matrix(p + "ffn_gate_exps.weight", Role::FfnGate, il, s.n_embd, s.n_ff_exp, sd, s.n_expert);
    m.matrix(p + "ffn_up_exps.weight", Role::FfnUp, il, s.n_embd, s.n_ff_exp, sd, s.n_expert);
    m.matrix(p + "ffn_down_exps.weight", Role::FfnDown, il, s.n_ff_exp, s.n_embd, sd, s.n_expert);
    if (s.n_ff_shexp > 0) {
        m.vector(p + "ffn_gate_inp_shexp.weight", s.n_embd, 0.0f, 0.1f);
        m.matrix(p + "ffn_gate_shexp.weight", Role::FfnGate, il, s.n_embd, s.n_ff_shexp, sd);
        m.matrix(p + "ffn_up_shexp.weight", Role::FfnUp, il, s.n_embd, s.n_ff_shexp, sd);
        m.matrix(p + "ffn_down_shexp.weight", Role::FfnDown, il, s.n_ff_shexp, s.n_embd, sd);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: make_random_model --out F [--arch A] [--shape NAME] [--mix M] "
                 "[--seed N] [--ctx N] [--window N] [--vocab N] [--tokenizer-from GGUF] "
                 "[--split N] [--orig-ctx N] [--experts N] [--experts-used K] "
                 "[--expert-norm 0|1]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string arch = "llama", shape_name = "tiny", mix_name = "q8_0", out, tokenizer;
    uint32_t seed = 1, ctx = 0, window = 0, n_vocab = 0;  // 0: the shape's default
    uint32_t split = 1, orig_ctx_flag = 0;
    int64_t experts = -1, experts_used = -1, expert_norm = -1;  // -1: the shape's default
    if (argc % 2 == 0) return usage();
    try {
        for (int i = 1; i + 1 < argc; i += 2) {
            const std::string flag = argv[i], value = argv[i + 1];
            if (flag == "--arch")
                arch = value;
            else if (flag == "--shape")
                shape_name = value;
            else if (flag == "--mix" || flag == "--type")
                mix_name = value;
            else if (flag == "--out")
                out = value;
            else if (flag == "--seed")
                seed = static_cast<uint32_t>(std::stoul(value));
            else if (flag == "--ctx")
                ctx = static_cast<uint32_t>(std::stoul(value));
            else if (flag == "--window")
                window = static_cast<uint32_t>(std::stoul(value));
            else if (flag == "--vocab")
                n_vocab = static_cast<uint32_t>(std::stoul(value));
            else if (flag == "--tokenizer-from")
                tokenizer = value;
            else if (flag == "--split")
                split = static_cast<uint32_t>(std::stoul(value));
            else if (flag == "--orig-ctx")
                orig_ctx_flag = static_cast<uint32_t>(std::stoul(value));
            else if (flag == "--experts")
                experts = std::stol(value);
            else if (flag == "--experts-used")
                experts_used = std::stol(value);
            else if (flag == "--expert-norm")
                expert_norm = std::stol(value) != 0;
            else
                return usage();
        }
        if (out.empty() || split < 1 || split > 99) return usage();
        tools::ModelShape s = tools::find_shape(shape_name, arch);
        const tools::Mix mix = tools::find_mix(mix_name);
        if (window != 0) s.window = window;
        if (n_vocab != 0) s.n_vocab = n_vocab;
        if (experts > 0) s.n_expert = static_cast<uint32_t>(experts);
        if (experts_used > 0) s.n_expert_used = static_cast<uint32_t>(experts_used);
        if (s.n_expert_used > s.n_expert)
            throw std::invalid_argument("more experts used than exist");
        // Trained context: small for the test shape, enough for benchmarks otherwise.
        if (ctx == 0) ctx = shape_name == "tiny" ? 256 : 4096;

        gguf::GgufWriter w;
        w.set("general.architecture", s.arch);
        w.set("general.name", "random " + s.name + " " + mix.name);
        if (!tokenizer.empty()) {
            s.n_vocab = std::max(s.n_vocab, copy_tokenizer(tokenizer, s.n_vocab, w));
        } else {
            std::vector<std::string> vocab;
            for (uint32_t t = 0; t < s.n_vocab; ++t) vocab.push_back("t" + std::to_string(t));
            w.set("tokenizer.ggml.tokens", gguf::make_array(vocab));
        }
        const std::string a = s.arch + ".";
        w.set(a + "context_length", ctx);
        w.set(a + "embedding_length", s.n_embd);
        w.set(a + "block_count", s.n_layer);
        w.set(a + "feed_forward_length", s.n_ff);
        w.set(a + "attention.head_count", s.n_head);
        w.set(a + "attention.head_count_kv", s.n_head_kv);
        w.set(a + "attention.key_length", s.head_dim);
        w.set(a + "attention.value_length", s.head_dim);
        w.set(a + "attention.layer_norm_rms_epsilon", 1e-6f);
        w.set(a + "rope.freq_base", s.rope_base);
        if (s.n_expert > 0) {
            w.set(a + "expert_count", s.n_expert);
            w.set(a + "expert_used_count", s.n_expert_used);
            w.set(a + "expert_feed_forward_length", s.n_ff_exp);
            if (s.n_ff_shexp > 0) w.set(a + "expert_shared_feed_forward_length", s.n_ff_shexp);
            if (expert_norm >= 0) w.set(a + "expert_weights_norm", expert_norm != 0);
        }
        if (s.arch == "gemma3" || s.windowed) w.set(a + "attention.sliding_window", s.window);
        const uint32_t rope_dims = s.rope_dims != 0 ? s.rope_dims : s.head_dim;
        if (s.rope_dims != 0) w.set(a + "rope.dimension_count", rope_dims);
        const uint32_t orig_ctx = orig_ctx_flag != 0 ? orig_ctx_flag : std::max(ctx / 8, 1u);
        if (s.longrope) {
            w.set(a + "rope.scaling.original_context_length", orig_ctx);
            const double scale = static_cast<double>(ctx) / orig_ctx;
            w.set(a + "rope.scaling.attn_factor",
                  static_cast<float>(std::sqrt(1 + std::log(scale) / std::log(orig_ctx))));
        }
        if (s.yarn_factor > 0) {
            w.set(a + "rope.scaling.type", std::string("yarn"));
            w.set(a + "rope.scaling.factor", s.yarn_factor);
            w.set(a + "rope.scaling.original_context_length", orig_ctx);
        }
        if (s.yarn_keys) {  // as llama.cpp's converter writes Ministral 3's
            w.set(a + "rope.scaling.yarn_beta_fast", 32.0f);
            w.set(a + "rope.scaling.yarn_beta_slow", 1.0f);
            w.set(a + "rope.scaling.yarn_log_multiplier", 1.0f);
        }
        if (s.attn_temp) w.set(a + "attention.temperature_scale", 0.1f);

        std::vector<gguf::GgufWriter> parts(1);
        std::swap(parts[0], w);  // the metadata stays in the first part
        parts.resize(split);
        Maker m(parts, seed, s, mix);
        const uint64_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
        if (s.rope_freqs) {
            const double orig = shape_name == "tiny" ? orig_ctx : 8192.0;
            m.values("rope_freqs.weight", llama31_rope_freqs(rope_dims, s.rope_base, orig));
        }
        if (s.longrope) {
            m.values("rope_factors_short.weight", longrope_factors(rope_dims, false));
            m.values("rope_factors_long.weight", longrope_factors(rope_dims, true));
        }
        m.matrix("token_embd.weight", Role::TokenEmbd, 0, s.n_embd, s.n_vocab, 1.0f);
        m.vector("output_norm.weight", s.n_embd, 1.0f, 0.1f);
        if (!s.tied_output) m.matrix("output.weight", Role::Output, 0, s.n_embd, s.n_vocab, 0.1f);
        const float sd = 1.0f / std::sqrt(static_cast<float>(s.n_embd));
        for (uint32_t il = 0; il < s.n_layer; ++il) {
            const std::string p = "blk." + std::to_string(il) + ".";
            m.vector(p + "attn_norm.weight", s.n_embd, 1.0f, 0.1f);
            if (s.fused) {
                m.matrix(p + "attn_qkv.weight", Role::AttnQ, il, s.n_embd, q_dim + 2 * kv_dim, sd);
            } else {
                m.matrix(p + "attn_q.weight", Role::AttnQ, il, s.n_embd, q_dim, sd);
                m.matrix(p + "attn_k.weight", Role::AttnK, il, s.n_embd, kv_dim, sd);
                m.matrix(p + "attn_v.weight", Role::AttnV, il, s.n_embd, kv_dim, sd);
            }
            m.matrix(p + "attn_output.weight", Role::AttnOutput, il, q_dim, s.n_embd, sd);
            if (s.arch == "qwen2" || s.arch == "qwen2moe") {
                m.vector(p + "attn_q.bias", q_dim, 0.0f, 0.2f);
                m.vector(p + "attn_k.bias", kv_dim, 0.0f, 0.2f);
                m.vector(p + "attn_v.bias", kv_dim, 0.0f, 0.2f);
            }
            if (s.arch == "qwen3" || s.arch == "qwen3moe" || s.arch == "gemma3") {
                m.vector(p + "attn_q_norm.weight", s.head_dim, 1.0f, 0.1f);
                m.vector(p + "attn_k_norm.weight", s.head_dim, 1.0f, 0.1f);
            }
            if (s.arch == "gemma3") {
                m.vector(p + "post_attention_norm.weight", s.n_embd, 1.0f, 0.1f);
                m.vector(p + "post_ffw_norm.weight", s.n_embd, 1.0f, 0.1f);
            }
            m.vector(p + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f);
            if (s.n_expert > 0) {
                add_experts(m, s, il, sd);
                continue;
            }
            if (s.fused) {  // the gate rows, then the up rows
                m.matrix(p + "ffn_up.weight", Role::FfnUp, il, s.n_embd, 2 * uint64_t{s.n_ff}, sd);
            } else {
                m.matrix(p + "ffn_gate.weight", Role::FfnGate, il, s.n_embd, s.n_ff, sd);
                m.matrix(p + "ffn_up.weight", Role::FfnUp, il, s.n_embd, s.n_ff, sd);
            }
            m.matrix(p + "ffn_down.weight", Role::FfnDown, il, s.n_ff, s.n_embd, sd);
        }
        if (split == 1) {
            parts[0].write(out);
        } else {  // llama.cpp's gguf-split layout: split.* keys, parts named -0000i-of-0000N
            const std::string stem =
                out.size() > 5 && out.ends_with(".gguf") ? out.substr(0, out.size() - 5) : out;
            parts[0].set("split.tensors.count", static_cast<int32_t>(m.tensors()));
            for (uint32_t i = 0; i < split; ++i) {
                parts[i].set("split.no", static_cast<uint16_t>(i));
                parts[i].set("split.count", static_cast<uint16_t>(split));
                char suffix[32];
                std::snprintf(suffix, sizeof suffix, "-%05u-of-%05u.gguf", i + 1, split);
                parts[i].write(stem + suffix);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
