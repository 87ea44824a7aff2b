// Hyper-parameters of a model, read from GGUF metadata and validated, plus the
// per-family switches that make one forward pass serve llama, qwen2, qwen3 and
// gemma3.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

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
    bool qkv_bias = false;     // qwen2: biases on q, k, v
    bool qk_norm = false;      // qwen3, gemma3: per-head RMSNorm of q and k
    bool post_norms = false;   // gemma3: RMSNorm after attention and after the FFN
    bool embed_scale = false;  // gemma3: embeddings × sqrt(n_embd)
    int swa_pattern = 0;       // gemma3: every swa_pattern-th layer is global, others local
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

    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }
    // Whether layer il attends only within the sliding window.
    bool is_local_layer(int64_t il) const {
        return config.swa_pattern > 0 && sliding_window > 0 && (il + 1) % config.swa_pattern != 0;
    }
};

// Throws ModelError naming the key or the inconsistency.
HParams read_hparams(const gguf::GgufFile& file);

}  // namespace pensieve::model
