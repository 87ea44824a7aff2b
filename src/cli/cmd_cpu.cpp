// `pensieve cpu [--json]`: the CPU features the kernels detected and the
// kernel variant they chose (PENSIEVE_CPU=ref|avx2|avx512|amx forces one).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "kernels/cpu.hpp"
#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/thread_pool.hpp"

namespace pensieve::cli {
namespace {

void run_cpu(bool json) {
    using namespace pensieve::kernels;
    const CpuFeatures& f = cpu_features();
    const std::vector<std::pair<const char*, bool>> flags = {
        {"sse4.2", f.sse42},
        {"avx", f.avx},
        {"avx2", f.avx2},
        {"fma", f.fma},
        {"f16c", f.f16c},
        {"avx512f", f.avx512f},
        {"avx512bw", f.avx512bw},
        {"avx512dq", f.avx512dq},
        {"avx512vl", f.avx512vl},
        {"avx512vnni", f.avx512vnni},
        {"avx512bf16", f.avx512bf16},
        {"avx512fp16", f.avx512fp16},
        {"avxvnni", f.avx_vnni},
        {"amx_tile", f.amx_tile},
        {"amx_int8", f.amx_int8},
        {"amx_bf16", f.amx_bf16},
        {"amx_permitted", f.amx_permitted},
    };
    std::vector<std::string> variants;
    for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512, Isa::Amx}) {
        if (isa_supported(isa)) variants.emplace_back(isa_name(isa));
    }
    // 16-bit attention products over F16 caches (with this variant), for
    // the head sizes kernels::attend_steps_for takes: FP16 ones up to
    // kFp16MaxHeadDim, else BF16 ones (model/attention.cpp: for runs of
    // many rows).
    const AttendSteps steps = attend_steps_for(kFp16MaxHeadDim);
    const bool fp16_attention = steps.tiles > 0 && !steps.bf16;
    const bool bf16_attention = steps.bf16;
    if (json) {
        nlohmann::json features = nlohmann::json::object();
        for (const auto& [name, on] : flags) features[name] = on;
        const nlohmann::json j = {{"vendor", f.vendor},
                                  {"brand", f.brand},
                                  {"features", features},
                                  {"supported_variants", variants},
                                  {"bf16_products", f.bf16_products_fast},
                                  {"fp16_attention", fp16_attention},
                                  {"bf16_attention", bf16_attention},
                                  {"best_variant", std::string(isa_name(best_isa()))},
                                  {"active_variant", std::string(isa_name(active_isa()))},
                                  {"threads", ThreadPool::default_threads()}};
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("cpu:       %s (%s)\n", f.brand.c_str(), f.vendor.c_str());
    std::printf("features: ");
    for (const auto& [name, on] : flags) {
        if (on) std::printf(" %s", name);
    }
    std::printf("\nvariants:  ");
    for (const std::string& v : variants) std::printf("%s ", v.c_str());
    std::printf("\nkernels:   %s (best %s)\n", isa_name(active_isa()).data(),
                isa_name(best_isa()).data());
    if (f.avx512bf16)
        std::printf("bf16:      %s\n", f.bf16_products_fast
                                           ? "BF16 products (faster than F32 ones on this CPU)"
                                           : "F32 products (BF16 ones are slower on this CPU)");
    if (fp16_attention)
        std::printf("fp16:      FP16 products in attention over F16 caches (head sizes to %lld)\n",
                    static_cast<long long>(kFp16MaxHeadDim));
    if (bf16_attention)
        std::printf("attention: BF16 products over F16 caches (runs of more than %lld rows)\n",
                    static_cast<long long>(kF16TileMaxRows));
    std::printf("threads:   %d\n", ThreadPool::default_threads());
}

}  // namespace

void register_cpu(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("cpu", "Show detected CPU features and the kernel variant");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print JSON instead of text");
    cmd->callback([json] { run_cpu(*json); });
}

}  // namespace pensieve::cli
