// Probe for the reference tests: runs our forward pass over a token sequence
// and writes the logits of every position as raw float32 [T][n_vocab].
//   model_logits --model M --tokens 1,2,3 --out logits.f32 [--chunk N] [--seqs K] [--threads N]
//                [--kv-type f16|bf16|q8_0] [--gpu-layers N]
// --chunk feeds the prompt in pieces of N tokens (exercising the KV cache
// across calls); --seqs K runs K copies of the sequence side by side, one
// token of each per forward pass (as batched decode does), and writes the
// logits of the first copy; PENSIEVE_CPU picks the kernel variant;
// --gpu-layers puts the first N layers (-1: all) on the first usable Vulkan
// device.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gpu/vulkan.hpp"
#include "model/forward.hpp"

using namespace pensieve;

int main(int argc, char** argv) {
    std::string model_path, out_path;
    std::vector<int32_t> tokens;
    int64_t chunk = 0;
    int32_t seqs = 0;
    int threads = 0;
    int64_t gpu_layers = 0;
    gguf::TensorType kv_type = gguf::TensorType::F16;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const char* v = argv[i + 1];
        if (flag == "--model")
            model_path = v;
        else if (flag == "--out")
            out_path = v;
        else if (flag == "--chunk")
            chunk = std::atoll(v);
        else if (flag == "--seqs")
            seqs = std::atoi(v);
        else if (flag == "--threads")
            threads = std::atoi(v);
        else if (flag == "--gpu-layers")
            gpu_layers = std::atoll(v);
        else if (flag == "--kv-type")
            kv_type = std::string(v) == "q8_0"   ? gguf::TensorType::Q8_0
                      : std::string(v) == "bf16" ? gguf::TensorType::BF16
                                                 : gguf::TensorType::F16;
        else if (flag == "--tokens") {
            for (const char* p = v; *p;) {
                tokens.push_back(static_cast<int32_t>(std::strtol(p, const_cast<char**>(&p), 10)));
                if (*p == ',') ++p;
            }
        }
    }
    if (model_path.empty() || out_path.empty() || tokens.empty()) {
        std::fprintf(stderr, "usage: model_logits --model M --tokens 1,2,3 --out F [--chunk N]\n");
        return 2;
    }
    try {
        const auto model = model::Model::load(model_path);
        if (gpu_layers != 0) {
            const gpu::Discovery found = gpu::list_devices();
            const auto usable = std::find_if(found.devices.begin(), found.devices.end(),
                                             [](const gpu::DeviceInfo& d) { return d.usable; });
            if (usable == found.devices.end()) throw std::runtime_error("no usable Vulkan device");
            model->offload_to_gpu(usable->index, gpu_layers);
        }
        const auto& hp = model->hparams();
        const auto n = static_cast<int64_t>(tokens.size());
        if (chunk <= 0) chunk = n;
        kernels::ThreadPool pool(threads);
        if (seqs > 0) {
            model::KvCache kv({hp.n_layer, hp.n_head_kv, hp.head_dim,
                               seqs * model::KvCache::blocks_for(n), kv_type});
            for (int32_t s = 0; s < seqs; ++s) kv.reserve(s, n);
            model::Forward fwd(*model, pool, seqs, n);
            std::ofstream out(out_path, std::ios::binary);
            for (int64_t i = 0; i < n; ++i) {
                std::vector<model::BatchToken> batch;
                for (int32_t s = 0; s < seqs; ++s) {
                    batch.push_back(
                        {tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), s, s == 0});
                }
                const auto logits = fwd.run(batch, kv);
                out.write(reinterpret_cast<const char*>(logits.data()),
                          static_cast<std::streamsize>(logits.size() * sizeof(float)));
            }
            return 0;
        }
        model::KvCache kv(
            {hp.n_layer, hp.n_head_kv, hp.head_dim, model::KvCache::blocks_for(n), kv_type});
        if (!kv.reserve(0, n)) throw std::runtime_error("KV cache too small");
        model::Forward fwd(*model, pool, chunk, n);
        std::ofstream out(out_path, std::ios::binary);
        for (int64_t start = 0; start < n; start += chunk) {
            std::vector<model::BatchToken> batch;
            for (int64_t i = start; i < std::min(n, start + chunk); ++i) {
                batch.push_back({tokens[static_cast<size_t>(i)], static_cast<int32_t>(i), 0, true});
            }
            const auto logits = fwd.run(batch, kv);
            out.write(reinterpret_cast<const char*>(logits.data()),
                      static_cast<std::streamsize>(logits.size() * sizeof(float)));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
