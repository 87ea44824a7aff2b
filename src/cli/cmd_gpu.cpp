// `pensieve gpu [--json]`: the Vulkan devices the loader lists, what each
// offers and whether the GPU backend can use it.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "gpu/vulkan.hpp"

namespace pensieve::cli {
namespace {

void run_gpu(bool json) {
    const gpu::Discovery found = gpu::list_devices();
    if (json) {
        nlohmann::json devices = nlohmann::json::array();
        for (const gpu::DeviceInfo& d : found.devices) {
            devices.push_back({{"index", d.index},
                               {"name", d.name},
                               {"type", d.type},
                               {"api_version", d.api_version},
                               {"driver", d.driver},
                               {"device_local_bytes", d.device_local_bytes},
                               {"subgroup_size", d.subgroup_size},
                               {"fp16", d.fp16},
                               {"int8", d.int8},
                               {"integer_dot_product", d.integer_dot_product},
                               {"cooperative_matrix", d.cooperative_matrix},
                               {"usable", d.usable},
                               {"why_not", d.why_not}});
        }
        nlohmann::json j = {{"devices", devices}};
        if (!found.error.empty()) j["error"] = found.error;
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    if (found.devices.empty()) {
        std::printf("no GPU: %s\n", found.error.c_str());
        return;
    }
    for (const gpu::DeviceInfo& d : found.devices) {
        std::printf("%d: %s (%s, Vulkan %s, %s)\n", d.index, d.name.c_str(), d.type.c_str(),
                    d.api_version.c_str(), d.driver.c_str());
        std::printf("   memory %.1f GiB, subgroup %u, fp16 %s, int8 %s, integer dot %s, "
                    "cooperative matrix %s\n",
                    static_cast<double>(d.device_local_bytes) / (1u << 30), d.subgroup_size,
                    d.fp16 ? "yes" : "no", d.int8 ? "yes" : "no",
                    d.integer_dot_product ? "yes" : "no", d.cooperative_matrix ? "yes" : "no");
        std::printf("   %s\n", d.usable ? "usable" : ("not usable: " + d.why_not).c_str());
    }
}

}  // namespace

void register_gpu(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("gpu", "List the Vulkan devices the GPU backend can use");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "Print JSON instead of text");
    cmd->callback([json] { run_gpu(*json); });
}

}  // namespace pensieve::cli
