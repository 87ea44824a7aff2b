// `pensieve bench`: prefill and decode tokens/s (llama-bench's pp/tg, and
// with --depth after that many tokens of context, as llama-bench -d), plus
// the modes the benchmark suite (bench/report) needs: memory and speed by
// context size (--ctx-sweep) and the API's JSON cost (--api-json). Every mode
// also reports how long loading the model took and the process's memory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "api/messages_request.hpp"
#include "api/messages_response.hpp"
#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "engine/scheduler.hpp"
#include "engine/speed_bench.hpp"
#include "kernels/cpu.hpp"
#include "model/gpu_offload.hpp"

namespace pensieve::cli {
namespace {

struct BenchOptions {
    ModelOptions model;
    int64_t prompt_tokens = 512;
    int64_t gen_tokens = 128;
    int64_t depth = 0;  // tokens already in the context before each test
    int repetitions = 5;
    bool json = false;
    std::vector<int64_t> batch_sizes;  // aggregate decode at these sequence counts
    std::vector<int64_t> ctx_sweep;    // memory and speed after filling these contexts
    int api_json_iterations = 0;       // time the API's JSON work this many times
    std::vector<int> split_threads;    // model the work split over these thread counts
};

using Json = nlohmann::ordered_json;

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A field of this process's /proc/self/status (VmRSS, VmHWM: the peak) or
// /proc/self/smaps_rollup (FilePmdMapped: file pages mapped as 2 MiB pages),
// in MiB; 0 where unknown.
double proc_mib(const char* file, const std::string& field) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
    }
    return 0;
}

Json percentiles_ms(std::vector<double> seconds) {
    std::sort(seconds.begin(), seconds.end());
    auto at = [&](double p) {
        const auto i = static_cast<size_t>(p / 100 * static_cast<double>(seconds.size() - 1) + 0.5);
        return seconds[i] * 1e3;
    };
    double sum = 0;
    for (double s : seconds) sum += s;
    return {{"p50_ms", at(50)},
            {"p95_ms", at(95)},
            {"p99_ms", at(99)},
            {"mean_ms", sum / static_cast<double>(seconds.size()) * 1e3}};
}

// One sequence grown through the context sizes in increasing order: filled
// by prefill to each size (less a few positions), then a few decode steps
// at that depth. RSS is read before the evaluator exists, after it is
// allocated (the KV pool reserved but untouched), after a 16-token warm-up
// and at each size, so the growth past the warm-up is what holding that many
// tokens of context costs.
Json ctx_sweep(const LoadedModel& m, BenchOptions o) {
    const auto& hp = m.model->hparams();
    std::sort(o.ctx_sweep.begin(), o.ctx_sweep.end());
    const int64_t decode = 16;
    const double rss_before = proc_mib("/proc/self/status", "VmRSS");
    engine::Evaluator evaluator(*m.model, {.n_ctx = o.ctx_sweep.back(),
                                           .n_batch = 512,
                                           .n_threads = o.model.threads,
                                           .kv_type = kv_type(o.model)});
    const double rss_allocated = proc_mib("/proc/self/status", "VmRSS");
    // A few positions first: the weights are paged in and the forward's
    // buffers touched, so what grows after this is the context alone.
    engine::extend_context(evaluator, 0, 16, 1);
    Json out = {{"rss_mib_before", rss_before},
                {"rss_mib_allocated", rss_allocated},
                {"rss_mib_warm", proc_mib("/proc/self/status", "VmRSS")},
                {"decode_tokens", decode},
                {"threads", evaluator.pool().size()},
                {"sizes", Json::array()}};
    int64_t filled = 0;
    for (int64_t n_ctx : o.ctx_sweep) {
        const engine::FillResult r =
            engine::extend_context(evaluator, filled, n_ctx - decode, decode);
        filled = n_ctx - decode;
        const uint64_t kv_bytes =
            model::KvCache::bytes_per_token(
                {hp.n_layer, hp.n_head_kv, hp.head_dim, 1, kv_type(o.model)}) *
            static_cast<uint64_t>(n_ctx);
        out["sizes"].push_back({{"ctx", n_ctx},
                                {"rss_mib", proc_mib("/proc/self/status", "VmRSS")},
                                {"kv_cache_mib", static_cast<double>(kv_bytes) / (1 << 20)},
                                {"prefill_tok_s", r.prefill_tok_s},
                                {"decode_tok_s", r.decode_tok_s}});
    }
    return out;
}

// The JSON work of one request, outside the server: parsing a typical
// Messages body, building and serialising a 100-token Message, and the 100
// SSE text_delta events of the same reply streamed.
Json api_json(int iterations) {
    const std::string body =
        R"({"model":"claude-3-sonnet-20240229","max_tokens":100,"temperature":0.7,)"
        R"("system":"You are a helpful assistant.","messages":[{"role":"user",)"
        R"("content":"Hello, performance test! Tell me about lighthouses."}]})";
    const std::string piece = " lighthouse";  // one token's worth of text
    std::string reply;
    for (int i = 0; i < 100; ++i) reply += piece;
    std::vector<double> parse, message, stream;
    size_t sink = 0;  // keeps the results alive so the work is not optimised away
    for (int i = 0; i < iterations; ++i) {
        double t = now_s();
        sink += api::parse_messages_request(body, api::Endpoint::Messages).messages.size();
        parse.push_back(now_s() - t);
        t = now_s();
        sink +=
            api::message_json("msg_0123456789abcdefghijklmn", "claude-3-sonnet-20240229",
                              nlohmann::ordered_json::array({{{"type", "text"}, {"text", reply}}}),
                              "max_tokens", std::nullopt, {24, 100, 0})
                .dump()
                .size();
        message.push_back(now_s() - t);
        t = now_s();
        for (int k = 0; k < 100; ++k) sink += api::text_delta_event(0, piece).size();
        stream.push_back(now_s() - t);
    }
    return {{"iterations", iterations},
            {"bytes", sink},
            {"parse_request", percentiles_ms(parse)},
            {"serialize_message_100_tokens", percentiles_ms(message)},
            {"serialize_stream_100_events", percentiles_ms(stream)}};
}

// The work-split model (speed_bench.hpp) as JSON: per thread count, the
// figures per prompt token and per decoded token; busy_threads is CPU time
// over modelled time (how many of the threads the split keeps working), and
// the speed-up is over the first thread count's modelled time. Compute
// alone: decode also waits on memory bandwidth, which the bytes show.
Json split_model(const model::Model& model, const BenchOptions& o) {
    const engine::SplitModel sm = engine::model_split(model, o.split_threads, o.prompt_tokens,
                                                      o.gen_tokens, o.depth, kv_type(o.model));
    const auto rows = [&](const std::vector<engine::SplitFigures>& figs) {
        Json out = Json::array();
        const double first = figs.front().span_seconds;
        for (const engine::SplitFigures& f : figs) {
            out.push_back({{"threads", f.threads},
                           {"sync_points", f.calls},
                           {"serial_calls", f.serial_calls},
                           {"tasks", f.tasks},
                           {"calls_with_fewer_tasks_than_threads", f.short_calls},
                           {"cpu_share_in_those_calls", f.short_share},
                           {"median_tasks_per_thread", f.tasks_per_thread},
                           {"weight_bytes_per_task", f.bytes_per_task},
                           {"cpu_seconds", f.work_seconds},
                           {"modelled_seconds", f.span_seconds},
                           {"busy_threads", f.work_seconds / f.span_seconds},
                           {"modelled_speedup", first / f.span_seconds}});
        }
        return out;
    };
    return {{"prompt_tokens", o.prompt_tokens},
            {"gen_tokens", o.gen_tokens},
            {"depth", o.depth},
            {"weight_bytes_per_token", model.weights().matrix_bytes},
            {"prefill_per_token", rows(sm.prefill)},
            {"decode_per_token", rows(sm.decode)}};
}

void print_pp_tg(const engine::SpeedResult& r, const BenchOptions& o, int threads,
                 const std::string& isa, const Json& batched) {
    std::printf("threads %d, kernels %s, %d repetitions, depth %lld\n", threads, isa.c_str(),
                o.repetitions, static_cast<long long>(o.depth));
    if (o.prompt_tokens > 0) {
        std::printf("pp%-5lld %8.1f ± %.1f tok/s (median %.1f)\n",
                    static_cast<long long>(o.prompt_tokens), r.prefill_mean, r.prefill_sd,
                    r.prefill_median);
    }
    if (o.gen_tokens > 0) {
        std::printf("tg%-5lld %8.1f ± %.1f tok/s (median %.1f)\n",
                    static_cast<long long>(o.gen_tokens), r.decode_mean, r.decode_sd,
                    r.decode_median);
    }
    for (const auto& [n, rate] : batched.items()) {
        std::printf("decode x%-4s %8.1f tok/s aggregate (median)\n", n.c_str(), rate.get<double>());
    }
}

// A test's figure, or null for a test not run (0 tokens).
Json rate(int64_t tokens, double value) {
    return tokens > 0 ? Json(value) : Json(nullptr);
}

void bench(BenchOptions o) {
    if (o.api_json_iterations > 0) {  // needs no model
        std::printf("%s\n", api_json(o.api_json_iterations).dump(2).c_str());
        return;
    }
    if (o.ctx_sweep.empty() && o.prompt_tokens == 0 && o.gen_tokens == 0)
        throw std::invalid_argument(
            "--prompt-tokens and --gen-tokens are both 0: nothing to measure");
    if (!o.batch_sizes.empty() && o.gen_tokens == 0)
        throw std::invalid_argument(
            "--batch-sizes measures decode: --gen-tokens must be at least 1");
    o.model.ctx = o.depth + std::max(o.prompt_tokens, o.gen_tokens) + 1;
    const double t_load = now_s();
    const LoadedModel m = load_model(o.model);
    const double load_seconds = now_s() - t_load;
    const double rss_loaded = proc_mib("/proc/self/status", "VmRSS");
    const std::string isa(kernels::isa_name(kernels::active_isa()));
    Json j = {{"model", m.name},
              {"arch", m.model->hparams().arch},
              {"kernels", isa},
              {"load_seconds", load_seconds},
              {"rss_mib_after_load", rss_loaded},
              {"weight_bytes_per_token", m.model->weights().matrix_bytes}};
    if (const model::GpuOffload* gpu = m.model->gpu(); gpu != nullptr) {
        j["gpu"] = {{"device", gpu->device().name},
                    {"layers", gpu->layers()},
                    {"whole_layers", gpu->runs_layers()},
                    {"matrices", gpu->matrices()},
                    {"bytes", gpu->bytes()}};
    }
    if (!o.ctx_sweep.empty()) {
        j["ctx_sweep"] = ctx_sweep(m, o);
        j["peak_rss_mib"] = proc_mib("/proc/self/status", "VmHWM");
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    // Every weight page read before anything is timed, as llama-bench's load
    // does: otherwise a mixture of experts reads the experts its warm-up did
    // not choose from disk while decoding is timed.
    const double t_page_in = now_s();
    m.model->page_in();
    j["page_in_seconds"] = now_s() - t_page_in;
    if (!o.split_threads.empty()) {
        j["split_model"] = split_model(*m.model, o);
        std::printf("%s\n", j.dump(2).c_str());
        return;
    }
    // Prompts go through the forward pass in the server's prefill chunks (as
    // llama-bench's default micro-batch of 512): one pass over a 16k-token
    // prompt would hold activations far beyond the caches, which no server
    // request does.
    const int64_t chunk =
        std::clamp<int64_t>(o.prompt_tokens, 1, engine::SchedulerConfig{}.prefill_chunk);
    engine::Evaluator evaluator(*m.model, {.n_ctx = o.model.ctx,
                                           .n_batch = chunk,
                                           .n_threads = o.model.threads,
                                           .kv_type = kv_type(o.model)});
    const engine::SpeedResult r =
        engine::measure_speed(evaluator, o.prompt_tokens, o.gen_tokens, o.repetitions, o.depth);
    Json batched = Json::object();
    for (int64_t n : o.batch_sizes) {
        batched[std::to_string(n)] = engine::measure_batched_decode(*m.model, evaluator.pool(), n,
                                                                    o.gen_tokens, o.repetitions);
    }
    const double huge_mib = proc_mib("/proc/self/smaps_rollup", "FilePmdMapped");
    if (!o.json) {
        print_pp_tg(r, o, evaluator.pool().size(), isa, batched);
        uint64_t tensor_bytes = 0;
        for (const gguf::TensorInfo& t : m.model->file().tensors()) tensor_bytes += t.n_bytes;
        std::printf("model file pages mapped as 2 MiB pages: %.0f of %.0f MiB of tensors\n",
                    huge_mib, static_cast<double>(tensor_bytes) / (1 << 20));
        return;
    }
    j.update(Json{{"threads", evaluator.pool().size()},
                  {"kv_type", o.model.kv_type},
                  {"prompt_tokens", o.prompt_tokens},
                  {"gen_tokens", o.gen_tokens},
                  {"depth", o.depth},
                  {"repetitions", o.repetitions},
                  {"prefill_tok_s", rate(o.prompt_tokens, r.prefill_mean)},
                  {"prefill_tok_s_sd", rate(o.prompt_tokens, r.prefill_sd)},
                  {"prefill_tok_s_median", rate(o.prompt_tokens, r.prefill_median)},
                  {"decode_tok_s", rate(o.gen_tokens, r.decode_mean)},
                  {"decode_tok_s_sd", rate(o.gen_tokens, r.decode_sd)},
                  {"decode_tok_s_median", rate(o.gen_tokens, r.decode_median)},
                  {"batched_decode_tok_s", batched},
                  {"peak_rss_mib", proc_mib("/proc/self/status", "VmHWM")},
                  {"weights_huge_page_mib", huge_mib}});
    std::printf("%s\n", j.dump(2).c_str());
}

}  // namespace

void register_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App* cmd = app.add_subcommand("bench", "Measure prefill and decode speed");
    add_model_options(*cmd, o->model);
    cmd->add_option("-p,--prompt-tokens", o->prompt_tokens,
                    "Prompt tokens (pp; 0: no prefill test, as llama-bench -p 0)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
    cmd->add_option("-g,--gen-tokens", o->gen_tokens,
                    "Generated tokens (tg; 0: no decode test, as llama-bench -n 0)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
    cmd->add_option("-r,--repetitions", o->repetitions, "Repetitions")->check(CLI::Range(1, 10000));
    cmd->add_option("-d,--depth", o->depth,
                    "Tokens already in the context before each test, as llama-bench -d")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--batch-sizes", o->batch_sizes,
                    "Also measure aggregate decode with this many sequences at once (e.g. 1,4,16)")
        ->delimiter(',');
    cmd->add_option("--ctx-sweep", o->ctx_sweep,
                    "Instead: memory and speed after filling contexts of these sizes (JSON)")
        ->delimiter(',')
        ->check(CLI::Range(int64_t{64}, int64_t{1} << 20));
    cmd->add_option("--split-model", o->split_threads,
                    "Instead: model how prefill and decode split over these thread counts, which "
                    "may exceed the cores (e.g. 1,2,4,8,16; JSON)")
        ->delimiter(',')
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--api-json", o->api_json_iterations,
                    "Instead: time the API's JSON parsing and serialisation this many times (JSON)")
        ->check(CLI::Range(1, 1 << 30));
    cmd->callback([o] { bench(*o); });
}

}  // namespace pensieve::cli
