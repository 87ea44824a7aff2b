// `pensieve run [--raw] "prompt"`: generate a reply and stream it to stdout.
// Only the generated text goes to stdout; statistics go to stderr (-v).
#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "cli/sampling_options.hpp"
#include "engine/scheduler.hpp"

namespace pensieve::cli {
namespace {

struct RunOptions {
    ModelOptions model;
    engine::SamplingParams sampling;
    int64_t max_tokens = 512;
    std::vector<std::string> stop;
    std::string system;
    std::string prompt;
    bool raw = false;
    bool verbose = false;
};

void run(RunOptions o) {
    if (o.prompt == "-") o.prompt.assign(std::istreambuf_iterator<char>(std::cin), {});
    const LoadedModel m = load_model(o.model);
    std::vector<int32_t> prompt;
    if (o.raw) {
        prompt = m.tokenizer->encode(o.prompt, tokenizer::Specials::AsText, {.add_bos = true});
    } else {
        nlohmann::ordered_json messages = nlohmann::ordered_json::array();
        if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
        messages.push_back({{"role", "user"}, {"content", o.prompt}});
        prompt = m.prompt->build(messages);
    }
    engine::Scheduler scheduler(*m.model, *m.tokenizer,
                                {.n_ctx = o.model.ctx,
                                 .n_parallel = 1,
                                 .kv_type = kv_type(o.model),
                                 .n_threads = o.model.threads});
    const engine::GenerateResult r = scheduler.run(
        {prompt, o.sampling, o.max_tokens, o.stop, nullptr, nullptr}, [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            return true;
        });
    if (!o.raw) std::fputc('\n', stdout);
    if (o.verbose) {
        const double n_out = static_cast<double>(r.output.size());
        std::fprintf(stderr,
                     "\n[prompt %lld tokens in %.2f s (%.1f tok/s); output %lld tokens in %.2f s "
                     "(%.1f tok/s); stop: %s; template: %s]\n",
                     static_cast<long long>(r.prompt_tokens), r.prefill_seconds,
                     static_cast<double>(r.prompt_tokens) / r.prefill_seconds,
                     static_cast<long long>(r.output.size()), r.decode_seconds,
                     r.decode_seconds > 0 ? n_out / r.decode_seconds : 0.0,
                     std::string(engine::stop_reason_name(r.reason)).c_str(),
                     chat::origin_name(m.prompt->model_template().origin));
    }
}

}  // namespace

void register_run(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* cmd = app.add_subcommand("run", "Generate a reply to a prompt, streamed to stdout");
    add_model_options(*cmd, o->model);
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("prompt", o->prompt, "The prompt ('-' reads stdin)")->required();
    cmd->add_flag("--raw", o->raw, "Continue the text as is, without the chat template");
    cmd->add_option("--system", o->system, "System prompt");
    cmd->add_option("-n,--max-tokens", o->max_tokens, "Most tokens to generate")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    cmd->add_option("--stop", o->stop, "Stop string (repeatable); not printed");
    cmd->add_flag("-v,--verbose", o->verbose, "Print timing to stderr");
    cmd->callback([o] { run(*o); });
}

}  // namespace pensieve::cli
