// `pensieve chat`: an interactive multi-turn conversation in the terminal.
// The history is kept and re-rendered each turn; the scheduler's prefix cache
// keeps the KV of the unchanged prefix, so only the new turn is evaluated.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "cli/sampling_options.hpp"
#include "engine/scheduler.hpp"

namespace pensieve::cli {
namespace {

struct ChatOptions {
    ModelOptions model;
    engine::SamplingParams sampling;
    int64_t max_tokens = 1024;
    std::string system;
};

void chat_loop(const ChatOptions& o) {
    const LoadedModel m = load_model(o.model);
    engine::Scheduler scheduler(*m.model, *m.tokenizer,
                                {.n_ctx = o.model.ctx,
                                 .n_parallel = 1,
                                 .kv_type = kv_type(o.model),
                                 .n_threads = o.model.threads});
    nlohmann::ordered_json history = nlohmann::ordered_json::array();
    auto reset = [&] {
        history = nlohmann::ordered_json::array();
        if (!o.system.empty()) history.push_back({{"role", "system"}, {"content", o.system}});
    };
    reset();
    std::fprintf(stderr, "pensieve chat: /reset clears the history, /quit or Ctrl-D ends.\n");
    std::string line;
    for (;;) {
        std::fprintf(stderr, "> ");
        std::fflush(stderr);
        if (!std::getline(std::cin, line) || line == "/quit" || line == "/exit") break;
        if (line == "/reset") {
            reset();
            std::fprintf(stderr, "(history cleared)\n");
            continue;
        }
        if (line.empty()) continue;
        history.push_back({{"role", "user"}, {"content", line}});
        std::string reply;
        try {
            const auto prompt = m.prompt->build(history);
            scheduler.run({prompt, o.sampling, o.max_tokens, {}, nullptr, nullptr},
                          [&](std::string_view text) {
                              reply += text;
                              std::fwrite(text.data(), 1, text.size(), stdout);
                              std::fflush(stdout);
                              return true;
                          });
        } catch (const engine::ContextError& e) {
            std::fprintf(stderr, "\n(%s; use /reset)\n", e.what());
            history.erase(history.end() - 1);
            continue;
        }
        std::fputc('\n', stdout);
        history.push_back({{"role", "assistant"}, {"content", reply}});
    }
    std::fputc('\n', stderr);
}

}  // namespace

void register_chat(CLI::App& app) {
    auto o = std::make_shared<ChatOptions>();
    CLI::App* cmd = app.add_subcommand("chat", "Chat with a model in the terminal");
    add_model_options(*cmd, o->model);
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("--system", o->system, "System prompt");
    cmd->add_option("-n,--max-tokens", o->max_tokens, "Most tokens per reply")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    cmd->callback([o] { chat_loop(*o); });
}

}  // namespace pensieve::cli
