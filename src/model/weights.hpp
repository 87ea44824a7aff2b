// The weights of one model, bound by name from the GGUF tensor table with
// their expected shapes checked (llama.cpp's loader style: each tensor is
// declared with its shape; a missing or mis-shaped one is an error naming it).
// Matrices stay in the mmap'd file; small 1-D tensors stored in a non-F32
// format are converted once at load. Fused matrices (phi3's attn_qkv and
// gate+up ffn_up) are bound as row ranges of one tensor, so the forward pass
// sees the same slots for every family. Tensors the forward pass does not
// read are listed, so that loading can warn about them.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "gguf/file.hpp"
#include "kernels/matmul.hpp"
#include "model/hparams.hpp"

namespace pensieve::model {

// The experts of one mixture-of-experts matrix: a 3-D GGUF tensor (ne = {k,
// n, count}) whose expert e is the contiguous [n][k] matrix at e × stride
// bytes, so the matmul kernels read a slice in place.
struct Experts {
    kernels::WeightMatrix first;  // expert 0
    size_t stride = 0;            // bytes from one expert to the next
    int64_t count = 0;
    kernels::WeightMatrix at(int64_t e) const {
        kernels::WeightMatrix m = first;
        m.data = static_cast<const uint8_t*>(first.data) + static_cast<size_t>(e) * stride;
        return m;
    }
};

// Shapes are [rows n][row length k] (GGUF ne = {k, n}).
struct LayerWeights {
    const float* attn_norm = nullptr;       // [n_embd]
    kernels::WeightMatrix wq;               // [q_dim][n_embd]   (phi3: rows of attn_qkv)
    kernels::WeightMatrix wk;               // [kv_dim][n_embd]
    kernels::WeightMatrix wv;               // [kv_dim][n_embd]
    kernels::WeightMatrix wo;               // [n_embd][q_dim]
    const float* bq = nullptr;              // [q_dim]   qwen2
    const float* bk = nullptr;              // [kv_dim]  qwen2
    const float* bv = nullptr;              // [kv_dim]  qwen2
    const float* q_norm = nullptr;          // [head_dim] qwen3, gemma3
    const float* k_norm = nullptr;          // [head_dim] qwen3, gemma3
    const float* post_attn_norm = nullptr;  // [n_embd]  gemma3
    const float* ffn_norm = nullptr;        // [n_embd]
    kernels::WeightMatrix w_gate;           // [n_ff][n_embd]  (phi3: ffn_up's first n_ff rows)
    kernels::WeightMatrix w_up;             // [n_ff][n_embd]  (phi3: its last n_ff rows)
    kernels::WeightMatrix w_down;           // [n_embd][n_ff]
    const float* post_ffn_norm = nullptr;   // [n_embd]  gemma3
    // Mixture of experts (instead of w_gate, w_up, w_down):
    kernels::WeightMatrix router;       // [n_expert][n_embd]  ffn_gate_inp
    Experts gate_exps;                  // n_expert × [n_ff_exp][n_embd]
    Experts up_exps;                    // n_expert × [n_ff_exp][n_embd]
    Experts down_exps;                  // n_expert × [n_embd][n_ff_exp]
    kernels::WeightMatrix gate_shexp;   // [n_ff_shexp][n_embd]  qwen2moe's shared expert
    kernels::WeightMatrix up_shexp;     // [n_ff_shexp][n_embd]
    kernels::WeightMatrix down_shexp;   // [n_embd][n_ff_shexp]
    const float* shexp_gate = nullptr;  // [n_embd]  its sigmoid gate's weights
};

struct Weights {
    kernels::WeightMatrix token_embd;    // [n_vocab][n_embd]
    const float* output_norm = nullptr;  // [n_embd]
    kernels::WeightMatrix output;        // [n_vocab][n_embd]; token_embd when tied
    std::vector<LayerWeights> layers;
    // RoPE frequency factors, [rope_dims / 2] each, or null: Llama 3.1's
    // rope_freqs (or YaRN's divisors, computed at load), Phi-3's LongRoPE
    // factors for contexts up to n_ctx_orig (short) and beyond it (long).
    const float* rope_freqs = nullptr;
    const float* rope_short = nullptr;
    const float* rope_long = nullptr;
    uint64_t matrix_bytes = 0;                // bytes of every matrix read by one forward token
                                              // (of a mixture of experts: the experts used)
    std::vector<std::string> unused_tensors;  // in the file, never read by the forward pass

  private:
    friend class WeightBinder;
    std::deque<std::vector<float>> converted_;  // non-F32 vectors, converted at load
};

// Throws ModelError naming the tensor and both shapes. Sets hp.n_vocab from
// the embedding matrix.
Weights bind_weights(const gguf::GgufFile& file, HParams& hp);

}  // namespace pensieve::model
