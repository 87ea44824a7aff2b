// Writes a small random-weight model of a supported architecture with our
// GGUF writer, for the reference tests of the forward pass:
//   make_random_model --arch llama|qwen2|qwen3|gemma3 --type q4_0 --out F [--seed N]
//                     [--ctx N] [--window N]   (trained context, default 256; gemma3 window, default 4)
// Matrices are quantized to --type by our kernels' quantize_row (their
// dequantized values are what both our engine and the NumPy reference see).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gguf/writer.hpp"
#include "kernels/traits.hpp"

using namespace pensieve;
using gguf::TensorType;

namespace {

struct Shape {
    uint32_t n_embd = 256, n_ff = 512, n_head = 4, n_head_kv = 2, head_dim = 64, n_layer = 2,
             n_vocab = 512;
};

class Maker {
  public:
    Maker(gguf::GgufWriter& w, uint32_t seed, TensorType type) : w_(w), rng_(seed), type_(type) {}

    void matrix(const std::string& name, uint64_t k, uint64_t n, float sd) {
        std::vector<float> v(k * n);
        std::normal_distribution<float> d(0.0f, sd);
        for (float& x : v) x = d(rng_);
        const kernels::TypeTraits& tr = kernels::traits(type_);
        std::vector<uint8_t> bytes(n * kernels::row_bytes(tr, static_cast<int64_t>(k)));
        tr.quantize_row(v.data(), bytes.data(), static_cast<int64_t>(k * n));
        w_.add_tensor(name, type_, {k, n}, std::move(bytes));
    }

    void vector(const std::string& name, uint64_t n, float mean, float sd) {
        std::vector<float> v(n);
        std::normal_distribution<float> d(mean, sd);
        for (float& x : v) x = d(rng_);
        std::vector<uint8_t> bytes(n * 4);
        std::memcpy(bytes.data(), v.data(), bytes.size());
        w_.add_tensor(name, TensorType::F32, {n}, std::move(bytes));
    }

  private:
    gguf::GgufWriter& w_;
    std::mt19937 rng_;
    TensorType type_;
};

TensorType parse_type(const std::string& s) {
    for (uint32_t id = 0; id < 40; ++id) {
        const auto info = gguf::type_info(id);
        if (info && info->name == s) return static_cast<TensorType>(id);
    }
    throw std::runtime_error("unknown type " + s);
}

}  // namespace

int main(int argc, char** argv) {
    std::string arch = "llama", type_name = "q8_0", out;
    uint32_t seed = 1, ctx = 256, window = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--arch")
            arch = argv[i + 1];
        else if (flag == "--type")
            type_name = argv[i + 1];
        else if (flag == "--out")
            out = argv[i + 1];
        else if (flag == "--seed")
            seed = static_cast<uint32_t>(std::stoul(argv[i + 1]));
        else if (flag == "--ctx")
            ctx = static_cast<uint32_t>(std::stoul(argv[i + 1]));
        else if (flag == "--window")
            window = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    }
    if (out.empty()) {
        std::fprintf(stderr, "usage: make_random_model --arch A --type T --out F [--seed N]\n");
        return 2;
    }
    try {
        Shape s;
        if (arch == "gemma3") s.n_layer = 6;  // five local layers and one global
        gguf::GgufWriter w;
        w.set("general.architecture", arch);
        w.set("general.name", std::string("random ") + arch);
        const std::string a = arch + ".";
        w.set(a + "context_length", ctx);
        w.set(a + "embedding_length", s.n_embd);
        w.set(a + "block_count", s.n_layer);
        w.set(a + "feed_forward_length", s.n_ff);
        w.set(a + "attention.head_count", s.n_head);
        w.set(a + "attention.head_count_kv", s.n_head_kv);
        w.set(a + "attention.key_length", s.head_dim);
        w.set(a + "attention.value_length", s.head_dim);
        w.set(a + "attention.layer_norm_rms_epsilon", 1e-6f);
        w.set(a + "rope.freq_base", arch == "gemma3" ? 1000000.0f : 10000.0f);
        if (arch == "gemma3") w.set(a + "attention.sliding_window", window);
        std::vector<std::string> vocab;
        for (uint32_t t = 0; t < s.n_vocab; ++t) vocab.push_back("t" + std::to_string(t));
        w.set("tokenizer.ggml.tokens", gguf::make_array(vocab));

        Maker m(w, seed, parse_type(type_name));
        const uint64_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
        m.matrix("token_embd.weight", s.n_embd, s.n_vocab, 1.0f);
        m.vector("output_norm.weight", s.n_embd, 1.0f, 0.1f);
        if (arch != "gemma3") m.matrix("output.weight", s.n_embd, s.n_vocab, 0.1f);
        const float sd = 1.0f / std::sqrt(static_cast<float>(s.n_embd));
        for (uint32_t il = 0; il < s.n_layer; ++il) {
            const std::string p = "blk." + std::to_string(il) + ".";
            m.vector(p + "attn_norm.weight", s.n_embd, 1.0f, 0.1f);
            m.matrix(p + "attn_q.weight", s.n_embd, q_dim, sd);
            m.matrix(p + "attn_k.weight", s.n_embd, kv_dim, sd);
            m.matrix(p + "attn_v.weight", s.n_embd, kv_dim, sd);
            m.matrix(p + "attn_output.weight", q_dim, s.n_embd, sd);
            if (arch == "qwen2") {
                m.vector(p + "attn_q.bias", q_dim, 0.0f, 0.2f);
                m.vector(p + "attn_k.bias", kv_dim, 0.0f, 0.2f);
                m.vector(p + "attn_v.bias", kv_dim, 0.0f, 0.2f);
            }
            if (arch == "qwen3" || arch == "gemma3") {
                m.vector(p + "attn_q_norm.weight", s.head_dim, 1.0f, 0.1f);
                m.vector(p + "attn_k_norm.weight", s.head_dim, 1.0f, 0.1f);
            }
            if (arch == "gemma3") {
                m.vector(p + "post_attention_norm.weight", s.n_embd, 1.0f, 0.1f);
                m.vector(p + "post_ffw_norm.weight", s.n_embd, 1.0f, 0.1f);
            }
            m.vector(p + "ffn_norm.weight", s.n_embd, 1.0f, 0.1f);
            m.matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff, sd);
            m.matrix(p + "ffn_up.weight", s.n_embd, s.n_ff, sd);
            m.matrix(p + "ffn_down.weight", s.n_ff, s.n_embd, sd);
        }
        w.write(out);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
