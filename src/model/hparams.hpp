// Hyper-parameters of a model, read from GGUF metadata and validated, plus the
// per-family switches that make one forward pass serve llama (and Mistral's
// models, which GGUF files call llama), mistral3 (Ministral 3), qwen2, qwen3,
// gemma3, phi3 and the mixture-of-experts families qwen3moe and qwen2moe.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "kernels/ops.hpp"

namespace pensieve::model {

// A model file this engine cannot run: unknown architecture, missing or
// inconsistent hyper-parameters, missing or mis-shaped tensors.
class ModelError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class Activation { SiLU, GeLU };  // of the gated feed-forward

// What distinguishes the supported families, as named switches.
struct ArchConfig {
    kernels::RopeStyle rope_style = kernels::RopeStyle::Normal;
    Activation activation = Activation::SiLU;
    bool qkv_bias = false;       // qwen2: biases on q, k, v
    bool qk_norm = false;        // qwen3, gemma3: per-head RMSNorm of q and k
    bool post_norms = false;     // gemma3: RMSNorm after attention and after the FFN
    bool embed_scale = false;    // gemma3: embeddings × sqrt(n_embd)
    int swa_pattern = 0;         // gemma3: every swa_pattern-th layer is global, others local
    bool fused_gate_up = false;  // phi3: ffn_up holds the gate rows, then the up rows
    // qwen3moe, qwen2moe: a mixture of experts replaces every layer's FFN.
    bool moe = false;
    bool moe_norm_default = false;  // renormalise the chosen experts' weights unless the file says
    bool shared_expert = false;     // qwen2moe: a gated shared expert beside the routed ones
};

struct HParams {
    std::string arch;
    ArchConfig config;
    int64_t n_vocab = 0;
    int64_t n_ctx_train = 0;  // context length the model was trained for
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;  // key/query length per head
    int64_t n_ff = 0;
    float rms_eps = 1e-5f;
    float rope_base = 10000.0f;
    float rope_scale = 1.0f;           // linear position scale (1 / scaling factor)
    float rope_base_local = 10000.0f;  // gemma3 local (sliding-window) layers
    int64_t rope_dims = 0;             // rotated dims per head
    int64_t sliding_window = 0;        // 0: none
    float attn_scale = 0.0f;           // multiplies q·k
    // LongRoPE (phi3): the context the short factors are for, and the factor
    // on cos and sin. n_ctx_orig defaults to n_ctx_train.
    int64_t n_ctx_orig = 0;
    float rope_attn_factor = 1.0f;
    // YaRN (rope.scaling.type = yarn, any family): the context extension
    // factor (0: no YaRN) and the rotation counts, over n_ctx_orig positions,
    // that bound the band of pairs blended between extrapolation (fast pairs
    // kept) and interpolation (slow pairs divided by the factor). Its
    // magnitude correction is rope_attn_factor.
    float yarn_factor = 0.0f;
    float yarn_beta_fast = 32.0f;
    float yarn_beta_slow = 1.0f;
    // mistral3's attention temperature (Llama 4's): queries are multiplied by
    // 1 + attn_temp_scale * ln(1 + floor(pos / n_ctx_orig)). 0: off.
    float attn_temp_scale = 0.0f;
    // Mixture of experts (config.moe): the router picks n_expert_used of
    // n_expert expert FFNs of n_ff_exp per token; their weights are the
    // router's softmax over all experts, renormalised over the chosen ones
    // when expert_weights_norm. qwen2moe's shared expert has n_ff_shexp.
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
    int64_t n_ff_exp = 0;
    int64_t n_ff_shexp = 0;
    bool expert_weights_norm = false;

    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }
    // Whether layer il attends only within the sliding window.
    // (gemma3's pattern; such layers also take rope_base_local.)
    bool is_local_layer(int64_t il) const {
        return config.swa_pattern > 0 && sliding_window > 0 && (il + 1) % config.swa_pattern != 0;
    }
    // The window layer il attends within; 0: the whole context. Families
    // without a layer pattern (llama, phi3) window every layer when the file
    // sets one.
    int64_t layer_window(int64_t il) const {
        if (config.swa_pattern > 0) return is_local_layer(il) ? sliding_window : 0;
        return sliding_window;
    }
};

// Throws ModelError naming the key or the inconsistency.
HParams read_hparams(const gguf::GgufFile& file);

// YaRN's per-pair frequency divisors, [rope_dims / 2]: 1 for pairs that turn
// more than yarn_beta_fast times over n_ctx_orig positions, yarn_factor for
// those that turn fewer than yarn_beta_slow times, a linear blend of the
// inverse frequencies between (Hugging Face's _compute_yarn_parameters).
// Empty when the file does not use YaRN.
std::vector<float> yarn_freq_factors(const HParams& hp);

// The query multiplier of the attention temperature at position pos (1 when off).
float attn_temperature(const HParams& hp, int64_t pos);

}  // namespace pensieve::model
