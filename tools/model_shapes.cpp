// Shapes from the models' published configurations; the mix rules follow
// llama.cpp's quantizer (llama_tensor_get_type), read for the facts.
#include "model_shapes.hpp"

#include <strings.h>

#include <stdexcept>

namespace pensieve::tools {

using gguf::TensorType;

namespace {

ModelShape shape(std::string name, std::string arch, uint32_t n_embd, uint32_t n_ff,
                 uint32_t n_head, uint32_t n_head_kv, uint32_t head_dim, uint32_t n_layer,
                 uint32_t n_vocab, bool tied, float rope_base, uint32_t window = 0) {
    ModelShape s{std::move(name), std::move(arch), n_embd,  n_ff, n_head,    n_head_kv,
                 head_dim,        n_layer,         n_vocab, tied, rope_base, window};
    if (s.arch == "phi3") {
        s.fused = true;
        s.longrope = true;
    }
    if (s.arch == "mistral3") {  // Ministral 3's YaRN and attention temperature
        s.yarn_factor = 16;
        s.yarn_keys = true;
        s.attn_temp = true;
    }
    return s;
}

// Layers that Q4_K_M / Q5_K_M give more bits: the first and last eighth, and
// every third layer between.
bool use_more_bits(uint32_t layer, uint32_t n_layer) {
    return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

bool is_k_quant(TensorType t) {
    return t == TensorType::Q4_K || t == TensorType::Q5_K || t == TensorType::Q6_K;
}

TensorType parse_type(const std::string& s) {
    for (uint32_t id = 0; id < 64; ++id) {
        const auto info = gguf::type_info(id);
        if (info && strcasecmp(std::string(info->name).c_str(), s.c_str()) == 0) {
            return static_cast<TensorType>(id);
        }
    }
    throw std::invalid_argument("unknown mix or type '" + s +
                                "' (mixes: q4_k_m, q5_k_m, q6_k, q8_0, f16, bf16)");
}

}  // namespace

const std::vector<ModelShape>& named_shapes() {
    static const std::vector<ModelShape> shapes = {
        shape("llama3.2-1b", "llama", 2048, 8192, 32, 8, 64, 16, 128256, true, 500000.0f),
        shape("llama3.2-3b", "llama", 3072, 8192, 24, 8, 128, 28, 128256, true, 500000.0f),
        shape("llama3.1-8b", "llama", 4096, 14336, 32, 8, 128, 32, 128256, false, 500000.0f),
        shape("phi3-mini", "phi3", 3072, 8192, 32, 32, 96, 32, 32064, false, 10000.0f),
        [] {  // rotates 3/4 of each head
            ModelShape s =
                shape("phi4-mini", "phi3", 3072, 8192, 24, 8, 128, 32, 200064, true, 10000.0f);
            s.rope_dims = 96;
            return s;
        }(),
        shape("llama2-7b", "llama", 4096, 11008, 32, 32, 128, 32, 32000, false, 10000.0f),
        shape("mistral-7b", "llama", 4096, 14336, 32, 8, 128, 32, 32768, false, 1000000.0f),
        // Ministral 3 8B (Ministral3Config's defaults; its text model only).
        shape("ministral3-8b", "mistral3", 4096, 14336, 32, 8, 128, 34, 131072, false, 1000000.0f),
        shape("qwen2.5-0.5b", "qwen2", 896, 4864, 14, 2, 64, 24, 151936, true, 1000000.0f),
        shape("qwen2.5-1.5b", "qwen2", 1536, 8960, 12, 2, 128, 28, 151936, true, 1000000.0f),
        shape("qwen2.5-7b", "qwen2", 3584, 18944, 28, 4, 128, 28, 152064, false, 1000000.0f),
        [] {  // Qwen3-30B-A3B and Qwen3-Coder-30B-A3B: 128 experts, 8 per token
            ModelShape s = shape("qwen3-30b-a3b", "qwen3moe", 2048, 6144, 32, 4, 128, 48, 151936,
                                 false, 1000000.0f);
            s.n_expert = 128;
            s.n_expert_used = 8;
            s.n_ff_exp = 768;
            return s;
        }(),
        shape("gemma3-1b", "gemma3", 1152, 6912, 4, 1, 256, 26, 262144, true, 1000000.0f, 512),
        shape("gemma3-4b", "gemma3", 2560, 10240, 8, 4, 256, 34, 262208, true, 1000000.0f, 1024),
    };
    return shapes;
}

ModelShape find_shape(const std::string& name, const std::string& arch) {
    if (name == "tiny") {
        ModelShape s;
        s.name = "tiny";
        s.arch = arch == "llama3.1" || arch == "mistral" ? "llama" : arch;
        if (arch == "qwen2-yarn") {  // Qwen2.5's long-context setting
            s.arch = "qwen2";
            s.yarn_factor = 4;
        }
        if (arch == "mistral3") {  // Ministral 3's settings
            s.rope_base = 1000000.0f;
            s.yarn_factor = 16;
            s.yarn_keys = true;
            s.attn_temp = true;
        }
        s.tied_output = arch == "gemma3" || arch == "phi3";
        s.rope_freqs = arch == "llama3.1";
        if (arch == "llama3.1") s.rope_base = 500000.0f;
        if (arch == "mistral") {
            s.windowed = true;
            s.window = 4;  // shorter than the test prompt, so the window shows
            s.rope_base = 1000000.0f;
        }
        if (arch == "phi3") {  // Phi-4-mini's traits: GQA, tied output, 3/4 rotary
            s.fused = true;
            s.longrope = true;
            s.rope_dims = 48;
        }
        if (arch == "qwen3moe" || arch == "qwen2moe") {
            s.n_expert = 8;
            s.n_expert_used = 2;
            s.n_ff_exp = 256;
            if (arch == "qwen2moe") s.n_ff_shexp = 512;
        }
        if (arch == "gemma3") {
            s.n_layer = 6;  // five local layers and one global
            s.rope_base = 1000000.0f;
            s.window = 4;
        }
        return s;
    }
    std::string known;
    for (const ModelShape& s : named_shapes()) {
        if (s.name == name) return s;
        known += (known.empty() ? "" : ", ") + s.name;
    }
    throw std::invalid_argument("unknown shape '" + name + "' (tiny, " + known + ")");
}

Mix find_mix(const std::string& name) {
    if (name == "q4_k_m") return {name, TensorType::Q4_K, true, TensorType::Q6_K};
    if (name == "q5_k_m") return {name, TensorType::Q5_K, true, TensorType::Q6_K};
    if (name == "q6_k") return {name, TensorType::Q6_K, false, TensorType::Q6_K};
    const TensorType t = parse_type(name);  // q8_0, f16, bf16 and every single type
    return {name, t, false, t};
}

TensorType matrix_type(const Mix& mix, Role role, uint32_t layer, uint32_t n_layer,
                       bool tied_output, uint64_t row_length) {
    if (role == Role::Router) return TensorType::F32;
    TensorType t = mix.base;
    if (role == Role::Output || (role == Role::TokenEmbd && tied_output)) {
        t = mix.output;
    } else if (mix.more_bits_layers && (role == Role::AttnV || role == Role::FfnDown) &&
               use_more_bits(layer, n_layer)) {
        t = TensorType::Q6_K;
    }
    if (is_k_quant(t) && row_length % 256 != 0) {
        switch (t) {
            case TensorType::Q4_K:
                return TensorType::Q5_0;
            case TensorType::Q5_K:
                return TensorType::Q5_1;
            default:
                return TensorType::Q8_0;
        }
    }
    return t;
}

}  // namespace pensieve::tools
