// `pensieve bench`: prefill and decode tokens/s (llama-bench's pp/tg).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "engine/speed_bench.hpp"
#include "kernels/cpu.hpp"

namespace pensieve::cli {
namespace {

struct BenchOptions {
    ModelOptions model;
    int64_t prompt_tokens = 512;
    int64_t gen_tokens = 128;
    int repetitions = 5;
    bool json = false;
    std::vector<int64_t> batch_sizes;  // aggregate decode at these sequence counts
};

void bench(BenchOptions o) {
    o.model.ctx = std::max(o.prompt_tokens, o.gen_tokens) + 1;
    const LoadedModel m = load_model(o.model);
    engine::Session session(
        *m.model, *m.tokenizer,
        {.n_ctx = o.model.ctx, .n_batch = o.prompt_tokens, .n_threads = o.model.threads});
    const engine::SpeedResult r =
        engine::measure_speed(session, o.prompt_tokens, o.gen_tokens, o.repetitions);
    const std::string isa(kernels::isa_name(kernels::active_isa()));
    nlohmann::ordered_json batched = nlohmann::ordered_json::object();
    for (int64_t n : o.batch_sizes) {
        batched[std::to_string(n)] = engine::measure_batched_decode(*m.model, session.pool(), n,
                                                                    o.gen_tokens, o.repetitions);
    }
    if (o.json) {
        nlohmann::ordered_json j = {{"model", m.model->hparams().arch},
                                    {"threads", session.pool().size()},
                                    {"kernels", isa},
                                    {"prompt_tokens", o.prompt_tokens},
                                    {"gen_tokens", o.gen_tokens},
                                    {"repetitions", o.repetitions},
                                    {"prefill_tok_s", r.prefill_mean},
                                    {"prefill_tok_s_sd", r.prefill_sd},
                                    {"prefill_tok_s_median", r.prefill_median},
                                    {"decode_tok_s", r.decode_mean},
                                    {"decode_tok_s_sd", r.decode_sd},
                                    {"decode_tok_s_median", r.decode_median},
                                    {"weight_bytes_per_token", m.model->weights().matrix_bytes},
                                    {"batched_decode_tok_s", batched}};
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    std::printf("threads %d, kernels %s, %d repetitions\n", session.pool().size(), isa.c_str(),
                o.repetitions);
    std::printf("pp%-5lld %8.1f ± %.1f tok/s (median %.1f)\n",
                static_cast<long long>(o.prompt_tokens), r.prefill_mean, r.prefill_sd,
                r.prefill_median);
    std::printf("tg%-5lld %8.1f ± %.1f tok/s (median %.1f)\n", static_cast<long long>(o.gen_tokens),
                r.decode_mean, r.decode_sd, r.decode_median);
    for (const auto& [n, rate] : batched.items()) {
        std::printf("decode x%-4s %8.1f tok/s aggregate (median)\n", n.c_str(), rate.get<double>());
    }
}

}  // namespace

void register_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "Measure prefill and decode speed");
    add_model_options(*cmd, o->model);
    cmd->add_option("-p,--prompt-tokens", o->prompt_tokens, "Prompt tokens (pp)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("-g,--gen-tokens", o->gen_tokens, "Generated tokens (tg)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("-r,--repetitions", o->repetitions, "Repetitions")->check(CLI::PositiveNumber);
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--batch-sizes", o->batch_sizes,
                    "Also measure aggregate decode with this many sequences at once (e.g. 1,4,16)")
        ->delimiter(',');
    cmd->callback([o] { bench(*o); });
}

}  // namespace pensieve::cli
