// The weights of one model, bound by name from the GGUF tensor table with
// their expected shapes checked (llama.cpp's loader style: each tensor is
// declared with its shape; a missing or mis-shaped one is an error naming it).
// Matrices stay in the mmap'd file; small 1-D tensors stored in a non-F32
// format are converted once at load.
#pragma once

#include <deque>
#include <vector>

#include "gguf/file.hpp"
#include "kernels/matmul.hpp"
#include "model/hparams.hpp"

namespace pensieve::model {

// Shapes are [rows n][row length k] (GGUF ne = {k, n}).
struct LayerWeights {
    const float* attn_norm = nullptr;       // [n_embd]
    kernels::WeightMatrix wq;               // [q_dim][n_embd]
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
    kernels::WeightMatrix w_gate;           // [n_ff][n_embd]
    kernels::WeightMatrix w_up;             // [n_ff][n_embd]
    kernels::WeightMatrix w_down;           // [n_embd][n_ff]
    const float* post_ffn_norm = nullptr;   // [n_embd]  gemma3
};

struct Weights {
    kernels::WeightMatrix token_embd;    // [n_vocab][n_embd]
    const float* output_norm = nullptr;  // [n_embd]
    kernels::WeightMatrix output;        // [n_vocab][n_embd]; token_embd when tied
    std::vector<LayerWeights> layers;
    uint64_t matrix_bytes = 0;  // bytes of every matrix read by one forward token

  private:
    friend class WeightBinder;
    std::deque<std::vector<float>> converted_;  // non-F32 vectors, converted at load
};

// Throws ModelError naming the tensor and both shapes. Sets hp.n_vocab from
// the embedding matrix.
Weights bind_weights(const gguf::GgufFile& file, HParams& hp);

}  // namespace pensieve::model
