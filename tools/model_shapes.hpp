// Named model shapes and weight-format mixes for random-weight models: the
// hyper-parameters of real models (Llama 3.x, Qwen2.5, Gemma 3, Mistral, Phi) and
// the tensor types llama.cpp's quantizer gives each tensor for a mix such as
// Q4_K_M, so that speed can be measured on files shaped like the ones users
// run without downloading them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/tensor_type.hpp"

namespace pensieve::tools {

struct ModelShape {
    std::string name;
    std::string arch;  // the GGUF architecture: llama, mistral3, qwen2, qwen3, gemma3, phi3
    uint32_t n_embd = 256, n_ff = 512, n_head = 4, n_head_kv = 2, head_dim = 64, n_layer = 2,
             n_vocab = 512;
    bool tied_output = false;  // the output projection is token_embd (no output.weight)
    float rope_base = 10000.0f;
    uint32_t window = 0;      // gemma3's local layers, or every layer of a windowed llama
    bool windowed = false;    // llama (Mistral 7B v0.1): the window is written
    uint32_t rope_dims = 0;   // rotated dims per head; 0: all (phi3 may rotate fewer)
    bool rope_freqs = false;  // llama 3.1: a rope_freqs tensor (Llama 3.1's rule)
    bool longrope = false;    // phi3: rope_factors_short/long and their attention factor
    bool fused = false;       // phi3: attn_qkv and gate+up ffn_up tensors
    float yarn_factor = 0;    // YaRN RoPE scaling by this factor (0: none)
    bool yarn_keys = false;   // the YaRN betas and mscale_all_dim written out (mistral3)
    bool attn_temp = false;   // mistral3: the attention temperature's beta
    // Mixture of experts (qwen3moe, qwen2moe): expert count, experts per
    // token, each expert's FFN length, qwen2moe's shared expert's FFN length.
    uint32_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_ff_shexp = 0;
};

// The named shapes, and the small test shape ("tiny") of a family: a GGUF
// architecture, or llama3.1 (llama with rope_freqs), mistral (llama with a
// sliding window), phi3 (fused tensors, partial rotary, LongRoPE), mistral3
// (YaRN ×16 and the attention temperature), qwen2-yarn (qwen2 with YaRN ×4
// and the betas and magnitude correction left to their defaults), qwen3moe
// or qwen2moe (8 experts, 2 per token).
const std::vector<ModelShape>& named_shapes();
// Throws std::invalid_argument naming the known shapes.
ModelShape find_shape(const std::string& name, const std::string& arch);

// Which tensor a matrix is, for the mix's type choice. The experts of a
// mixture take the roles of the dense FFN's matrices (llama.cpp's rules match
// ffn_down_exps as ffn_down); the router is never quantized.
enum class Role {
    TokenEmbd,
    Output,
    AttnQ,
    AttnK,
    AttnV,
    AttnOutput,
    FfnGate,
    FfnUp,
    FfnDown,
    Router
};

struct Mix {
    std::string name;
    gguf::TensorType base = gguf::TensorType::Q8_0;
    // Q4_K_M / Q5_K_M: attn_v and ffn_down of some layers in Q6_K.
    bool more_bits_layers = false;
    gguf::TensorType output = gguf::TensorType::Q8_0;  // output (or tied token_embd)
};

// q4_k_m, q5_k_m, q6_k, q8_0, f16, bf16, or any one type name (every matrix in it).
Mix find_mix(const std::string& name);

// The type of a matrix: the mix's rule for its role and layer, then the
// fallback for a K-quant whose rows are not whole 256-element super-blocks.
gguf::TensorType matrix_type(const Mix& mix, Role role, uint32_t layer, uint32_t n_layer,
                             bool tied_output, uint64_t row_length);

}  // namespace pensieve::tools
