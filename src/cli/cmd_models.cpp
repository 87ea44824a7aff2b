// `pensieve models [--known]`: the models present in the model directory
// (and, with --known, every model `pensieve pull` can fetch).
#include <cstdio>

#include "cli/commands.hpp"
#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"

namespace pensieve::cli {
namespace {

void run_models(bool known) {
    const auto dir = registry::models_dir();
    const auto present = registry::list_models(dir);
    std::printf("model directory: %s\n", dir.c_str());
    if (present.empty()) std::printf("no models yet: run `pensieve pull`\n");
    for (const auto& m : present) {
        std::printf("%-32s %8.1f MiB  %s\n", m.name.c_str(),
                    static_cast<double>(m.size) / 1048576.0, m.path.c_str());
    }
    if (!known) return;
    std::printf("\nknown models (pensieve pull NAME):\n");
    for (const auto& m : registry::known_models()) {
        std::printf("%-32s %8.1f MiB  %s%s\n", m.name.c_str(),
                    static_cast<double>(m.size) / 1048576.0, m.description.c_str(),
                    m.is_default ? " [default]" : "");
    }
}

}  // namespace

void register_models(CLI::App& app) {
    auto known = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("models", "List downloaded models");
    cmd->add_flag("--known", *known, "Also list the models that can be pulled");
    cmd->callback([known] { run_models(*known); });
}

}  // namespace pensieve::cli
