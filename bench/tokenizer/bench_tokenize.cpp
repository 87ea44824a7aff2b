// Tokenizing a ~100 KB English + code prompt with the default model's
// vocabulary (SmolLM2 from the model directory, else the gpt-2 test vocab).
// The prompt is assembled from tests/data/tokenizer/corpus.jsonl (prose, code,
// JSON, mixed entries). Checked first: decode(encode(prompt)) must give the
// prompt back, or the benchmark reports an error instead of a time.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace {

namespace fs = std::filesystem;
using pensieve::tokenizer::Specials;
using pensieve::tokenizer::Tokenizer;

fs::path models_dir() {
    const char* home = std::getenv("PENSIEVE_HOME");
    const char* user = std::getenv("HOME");
    const fs::path base =
        home && *home ? fs::path(home) : fs::path(user ? user : ".") / ".cache" / "pensieve";
    return base / "models";
}

// The default model's vocabulary, or the gpt-2 test vocabulary without it.
fs::path model_file() {
    const fs::path smol = models_dir() / "smollm2-135m-instruct-q4_1.gguf";
    if (fs::exists(smol)) return smol;
    return fs::path(PENSIEVE_SOURCE_DIR) / "tests" / "data" / "vocab" /
           "ggml-vocab-gpt-2.gguf";
}

std::string from_hex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// ~100 KB of the corpus's prose/code/json/mixed entries, in file order.
std::string prompt() {
    std::ifstream in(fs::path(PENSIEVE_SOURCE_DIR) / "tests/data/tokenizer/corpus.jsonl");
    std::string line, out;
    while (out.size() < 100'000) {
        if (!std::getline(in, line)) {
            if (out.empty()) return out;
            in.clear();
            in.seekg(0);
            continue;
        }
        const bool wanted = line.find("\"prose\"") != std::string::npos ||
                            line.find("\"code\"") != std::string::npos ||
                            line.find("\"json\"") != std::string::npos ||
                            line.find("\"mixed\"") != std::string::npos;
        const size_t h = line.find("\"hex\": \"");
        if (!wanted || h == std::string::npos) continue;
        const size_t start = h + 8;
        out += from_hex(line.substr(start, line.find('"', start) - start)) + "\n";
    }
    return out;
}

void encode_100kb(benchmark::State& state, const fs::path& model) {
    if (!fs::exists(model)) {
        state.SkipWithError(("no " + model.string()).c_str());
        return;
    }
    const Tokenizer tok = Tokenizer::from_file(model);
    const std::string text = pensieve::tokenizer::utf8::make_valid(prompt());
    if (text.size() < 90'000) {
        state.SkipWithError("corpus.jsonl not found or too small");
        return;
    }
    const auto ids = tok.encode(text, Specials::AsText);
    if (tok.decode(ids) != text) {
        state.SkipWithError("decode(encode(prompt)) != prompt: not timing a wrong tokenizer");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(tok.encode(text, Specials::AsText));
    state.counters["bytes"] = static_cast<double>(text.size());
    state.counters["tokens"] = static_cast<double>(ids.size());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.SetLabel(model.filename().string());
}

void BM_Encode100KB(benchmark::State& state) {
    encode_100kb(state, model_file());
}
BENCHMARK(BM_Encode100KB)->Unit(benchmark::kMillisecond);

// The same prompt through Gemma 3's SentencePiece vocabulary (if pulled).
void BM_Encode100KB_Gemma3(benchmark::State& state) {
    encode_100kb(state, models_dir() / "gemma3-270m-q4_k_m.gguf");
}
BENCHMARK(BM_Encode100KB_Gemma3)->Unit(benchmark::kMillisecond);

void BM_LoadVocabulary(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::from_file(model_file()).size());
    state.SetLabel(model_file().filename().string());
}
BENCHMARK(BM_LoadVocabulary)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
