// `pensieve perplexity --file F --ctx 512 [--chunks N]`: perplexity of a text file.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/model_options.hpp"
#include "engine/perplexity.hpp"

namespace pensieve::cli {
namespace {

struct PerplexityOptions {
    ModelOptions model;
    std::string file;
    int64_t chunk_ctx = 512;
    int64_t chunks = 0;  // 0: every whole chunk of the text
};

void run_perplexity(PerplexityOptions o) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + o.file);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    o.model.ctx = o.chunk_ctx;
    const LoadedModel m = load_model(o.model);
    auto tokens = m.tokenizer->encode(text, tokenizer::Specials::AsText, {});
    if (o.chunks > 0 && static_cast<int64_t>(tokens.size()) > o.chunks * o.chunk_ctx) {
        tokens.resize(static_cast<size_t>(o.chunks * o.chunk_ctx));
    }
    engine::Evaluator evaluator(*m.model, {.n_ctx = o.chunk_ctx,
                                           .n_batch = o.chunk_ctx,
                                           .n_threads = o.model.threads,
                                           .kv_type = kv_type(o.model)});
    const bool add_bos = m.tokenizer->vocab().add_bos && m.tokenizer->bos().has_value();
    std::printf("%lld tokens, %lld chunks of %lld\n", static_cast<long long>(tokens.size()),
                static_cast<long long>(static_cast<int64_t>(tokens.size()) / o.chunk_ctx),
                static_cast<long long>(o.chunk_ctx));
    const auto r = engine::perplexity(
        evaluator, tokens, o.chunk_ctx, add_bos ? m.tokenizer->bos() : std::nullopt,
        [](const engine::PerplexityChunk& c) {
            std::printf("[%lld] %.4f\n", static_cast<long long>(c.index + 1), c.running_ppl);
            std::fflush(stdout);
        });
    std::printf("perplexity: %.4f\n", r.perplexity);
}

}  // namespace

void register_perplexity(CLI::App& app) {
    auto o = std::make_shared<PerplexityOptions>();
    CLI::App* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a text file");
    add_model_options(*cmd, o->model);
    cmd->add_option("-f,--file", o->file, "Text file")->required();
    cmd->remove_option(cmd->get_option("--ctx"));
    cmd->add_option("-c,--ctx", o->chunk_ctx, "Chunk size in tokens")
        ->check(CLI::Range(16, 1 << 16));
    cmd->add_option("--chunks", o->chunks, "Score only the first N chunks (default: all)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    cmd->callback([o] { run_perplexity(*o); });
}

}  // namespace pensieve::cli
