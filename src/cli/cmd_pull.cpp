// `pensieve pull [NAME]`: fetch a known model (default: the default model)
// into the model directory, with a progress line.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "cli/commands.hpp"
#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"
#include "registry/pull.hpp"

namespace pensieve::cli {
namespace {

void print_progress(const registry::PullProgress& p, bool tty) {
    using Stage = registry::PullProgress::Stage;
    static int last_percent = -1;
    const int percent = p.bytes_total ? static_cast<int>(100 * p.bytes_done / p.bytes_total) : 0;
    const char* what = p.stage == Stage::Download  ? "downloading"
                       : p.stage == Stage::Extract ? "extracting"
                       : p.stage == Stage::Verify  ? "verifying"
                                                   : "done";
    // On a terminal the line is redrawn in place; in logs only stage changes
    // and every 10% are printed, so CI output stays short.
    if (!tty && p.stage == Stage::Extract && percent / 10 == last_percent / 10) return;
    last_percent = percent;
    std::fprintf(stderr, "%s[%zu/%zu] %-11s %6.1f / %.1f MiB (%3d%%)%s", tty ? "\r" : "",
                 std::min(p.part + 1, p.parts), p.parts, what,
                 static_cast<double>(p.bytes_done) / 1048576.0,
                 static_cast<double>(p.bytes_total) / 1048576.0, percent, tty ? "" : "\n");
    if (tty && p.stage == Stage::Done) std::fprintf(stderr, "\n");
}

void run_pull(const std::string& name, bool force) {
    const auto model =
        name.empty() ? std::optional(registry::default_model()) : registry::find_known_model(name);
    if (!model) {
        std::string names;
        for (const auto& m : registry::known_models()) names += " " + m.name;
        throw std::runtime_error("unknown model '" + name + "'; known models:" + names);
    }
    registry::PullOptions options;
    options.models_dir = registry::models_dir();
    options.force = force;
    const bool tty = isatty(fileno(stderr)) != 0;
    options.on_progress = [tty](const registry::PullProgress& p) { print_progress(p, tty); };
    const registry::PullResult r = registry::pull_model(*model, options);
    std::printf("%s %s\n", r.already_present ? "already present:" : "pulled:", r.path.c_str());
}

}  // namespace

void register_pull(CLI::App& app) {
    auto name = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("pull", "Download a known model into the model directory");
    cmd->add_option("name", *name, "Known model name (default: the default model)");
    cmd->add_flag("--force", *force, "Download again even if a verified copy is present");
    cmd->callback([name, force] { run_pull(*name, *force); });
}

}  // namespace pensieve::cli
