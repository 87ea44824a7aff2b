// Cost of constrained decoding per generated token: computing the token mask
// for each step of a real Claude Code tool call (tests/data/grammar; and a
// call under tool_choice "any" over the 21 tools Claude Code 2.1.332 sends,
// tests/data/claude_code, with the server's own call schema) over the
// default model's vocabulary (SmolLM2, 49152 tokens), then advancing the
// matcher by the token. Three cache situations:
//   uncached  - every mask walked from scratch (the worst case)
//   first     - a fresh per-grammar cache for each call (a tool's first request)
//   warm      - the cache shared across calls (the same tools again, as an agent does)
// Checked first: every token of the call must be in its mask, or the
// benchmark reports an error instead of a time. Time is per token.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "chat/tools/tool_constraint.hpp"
#include "engine/grammar/schema_compiler.hpp"
#include "engine/grammar/token_mask.hpp"

namespace {

namespace fs = std::filesystem;
namespace g = pensieve::grammar;
using json = nlohmann::ordered_json;

fs::path smollm_path() {
    const char* home = std::getenv("PENSIEVE_HOME");
    const char* user = std::getenv("HOME");
    const fs::path base =
        home && *home ? fs::path(home) : fs::path(user ? user : ".") / ".cache" / "pensieve";
    return base / "models" / "smollm2-135m-instruct-q4_1.gguf";
}

struct Setup {
    pensieve::tokenizer::Tokenizer tok;
    std::shared_ptr<const g::TokenVocabulary> vocab;
    json tools, calls;
};

const Setup& setup() {
    static const Setup s = [] {
        auto tok = pensieve::tokenizer::Tokenizer::from_file(smollm_path());
        auto vocab = g::TokenVocabulary::from_tokenizer(tok);
        const fs::path data = fs::path(PENSIEVE_SOURCE_DIR) / "tests" / "data" / "grammar";
        std::ifstream t(data / "claude_code_tools.json"), c(data / "tool_calls.json"),
            st(data / "structured.json");
        json tools = json::parse(t);
        for (const json& x : json::parse(st)) tools.push_back(x);
        // tool_choice "any" over Claude Code's 21 tools as it sends them
        // (tests/data/claude_code), the schema the server builds, and the
        // Read call of that captured session.
        const fs::path captures = fs::path(PENSIEVE_SOURCE_DIR) / "tests" / "data" / "claude_code";
        const json all_tools =
            json::parse(std::ifstream(captures / "first_request_all_tools.json"))["tools"];
        std::vector<std::string> names;
        for (const json& tool : all_tools) names.push_back(tool["name"]);
        pensieve::chat::ToolChoice any;
        any.kind = pensieve::chat::ToolChoice::Kind::Any;
        tools.push_back(json{
            {"name", "claude_code_21"},
            {"input_schema", pensieve::chat::call_schema(pensieve::chat::ToolCallSyntax::Hermes,
                                                         all_tools, names, any)}});
        json calls = json::parse(c);
        const json session = json::parse(std::ifstream(captures / "tool_result_request.json"));
        for (const json& m : session["messages"]) {
            if (m["role"] != "assistant" || !m["content"].is_array()) continue;
            for (const json& b : m["content"]) {
                if (b["type"] == "tool_use") {
                    calls["claude_code_21"] = {{"name", b["name"]}, {"arguments", b["input"]}};
                }
            }
        }
        // JSON mode: any object.
        tools.push_back(json{{"name", "json_mode"}, {"input_schema", json{{"type", "object"}}}});
        return Setup{std::move(tok), std::move(vocab), std::move(tools), std::move(calls)};
    }();
    return s;
}

enum class Cache { Uncached, First, Warm };

void BM_MaskPerToken(benchmark::State& state, const std::string& name, Cache cache) {
    const Setup& s = setup();
    const json* schema = nullptr;
    for (const json& t : s.tools) {
        if (t["name"] == name) schema = &t["input_schema"];
    }
    if (!schema || !s.calls.contains(name)) {
        state.SkipWithError("tool or call missing from tests/data/grammar");
        return;
    }
    const auto grammar = std::make_shared<const g::Grammar>(g::compile_schema(*schema));
    const auto ids =
        s.tok.encode(g::canonical_json(s.calls[name]), pensieve::tokenizer::Specials::AsText);
    std::vector<uint64_t> mask(s.vocab->words());
    auto shared = std::make_shared<const g::GrammarMasks>(grammar, s.vocab);
    // One checked pass: the call must be allowed token by token. It also
    // times the slowest uncached step.
    double slowest_us = 0;
    {
        g::Constraint c(shared);
        for (auto id : ids) {
            const auto t0 = std::chrono::steady_clock::now();
            shared->compute_uncached(c.matcher().state(), mask);
            const auto t1 = std::chrono::steady_clock::now();
            slowest_us =
                std::max(slowest_us, std::chrono::duration<double, std::micro>(t1 - t0).count());
            if (!((mask[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1) || !c.accept(id)) {
                state.SkipWithError("a token of the call is masked out");
                return;
            }
        }
        if (!c.finished()) {
            state.SkipWithError("the call is not a complete document");
            return;
        }
    }
    for (auto _ : state) {
        if (cache == Cache::First)
            shared = std::make_shared<const g::GrammarMasks>(grammar, s.vocab);
        g::Constraint c(shared);
        for (auto id : ids) {
            if (cache == Cache::Uncached)
                shared->compute_uncached(c.matcher().state(), mask);
            else
                c.fill_mask(mask);
            benchmark::DoNotOptimize(mask.data());
            c.accept(id);
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ids.size()));
    state.counters["tokens"] = static_cast<double>(ids.size());
    state.counters["slowest_uncached_us"] = slowest_us;
    state.counters["us_per_token"] =
        benchmark::Counter(static_cast<double>(state.iterations() * ids.size()),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert,
                           benchmark::Counter::OneK::kIs1000);
}

// Setting the disallowed logits of a 49152-token vocabulary to -inf, for a
// mask inside a string (most tokens allowed) and at a key (few allowed).
void BM_ApplyMask(benchmark::State& state) {
    const Setup& s = setup();
    const auto grammar =
        std::make_shared<const g::Grammar>(g::compile_schema(s.tools[0]["input_schema"]));
    g::Constraint c(std::make_shared<const g::GrammarMasks>(grammar, s.vocab));
    const bool in_string = state.range(0) != 0;
    const std::string prefix = in_string ? R"({"command": "ls)" : R"({"command": "ls", )";
    for (auto id : s.tok.encode(prefix, pensieve::tokenizer::Specials::AsText)) c.accept(id);
    std::vector<uint64_t> mask(s.vocab->words());
    const size_t allowed = c.fill_mask(mask);
    std::vector<float> logits(s.vocab->size(), 0.5f);
    for (auto _ : state) {
        g::apply_mask(mask, logits);
        benchmark::DoNotOptimize(logits.data());
    }
    state.counters["allowed"] = static_cast<double>(allowed);
}

void BM_VocabularyBuild(benchmark::State& state) {
    const Setup& s = setup();
    for (auto _ : state) benchmark::DoNotOptimize(g::TokenVocabulary::from_tokenizer(s.tok));
}

const bool registered = [] {
    for (const char* name :
         {"Bash", "Read", "Edit", "MultiEdit", "Write", "Glob", "Grep", "TodoWrite",
          "bounded_integers_anyof_ref", "json_mode", "claude_code_21"}) {
        for (auto [label, cache] :
             {std::pair{"uncached", Cache::Uncached}, std::pair{"first", Cache::First},
              std::pair{"warm", Cache::Warm}}) {
            benchmark::RegisterBenchmark(
                (std::string("BM_MaskPerToken/") + name + "/" + label).c_str(),
                [name = std::string(name), c = cache](benchmark::State& st) {
                    BM_MaskPerToken(st, name, c);
                })
                ->Unit(benchmark::kMicrosecond);
        }
    }
    benchmark::RegisterBenchmark("BM_ApplyMask", BM_ApplyMask)
        ->Arg(1)
        ->Arg(0)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_VocabularyBuild", BM_VocabularyBuild)
        ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
