// `pensieve show NAME`: what a model is, for a person choosing one: its
// hyper-parameters (every `<architecture>.*` key), tokenizer summary and the
// full chat template. NAME is anything --model accepts; a split model is
// described whole (every part is read).
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "gguf/file.hpp"
#include "gguf/summary.hpp"
#include "registry/model_dir.hpp"

namespace pensieve::cli {
namespace {

// The text of token `id` when the vocabulary has it.
std::string token_text(const gguf::GgufFile& file, int64_t id) {
    const gguf::Array* tokens = file.get_array("tokenizer.ggml.tokens");
    if (tokens == nullptr || tokens->elem_type != gguf::ValueType::String || id < 0 ||
        static_cast<uint64_t>(id) >= tokens->strings.size()) {
        return "?";
    }
    return tokens->strings[static_cast<size_t>(id)];
}

void print_tokenizer(const gguf::GgufFile& file, const gguf::Summary& s) {
    std::printf("\ntokenizer:\n");
    std::printf("  model:            %s\n",
                s.tokenizer_model.empty() ? "-" : s.tokenizer_model.c_str());
    std::printf("  pre-tokenizer:    %s\n",
                s.tokenizer_pre.empty() ? "-" : s.tokenizer_pre.c_str());
    std::printf("  vocabulary:       %llu tokens\n", static_cast<unsigned long long>(s.vocab_size));
    if (const gguf::Array* merges = file.get_array("tokenizer.ggml.merges")) {
        std::printf("  merges:           %zu\n", merges->strings.size());
    }
    for (const char* role : {"bos", "eos", "eot", "eom", "padding", "unknown"}) {
        const auto id = file.get_int(std::string("tokenizer.ggml.") + role + "_token_id");
        if (!id) continue;
        std::printf("  %-17s %lld %s\n", (std::string(role) + " token:").c_str(),
                    static_cast<long long>(*id), token_text(file, *id).c_str());
    }
    for (const char* flag : {"add_bos_token", "add_eos_token"}) {
        if (const auto v = file.get_bool(std::string("tokenizer.ggml.") + flag)) {
            std::printf("  %-17s %s\n", (std::string(flag) + ":").c_str(), *v ? "yes" : "no");
        }
    }
}

void run_show(const std::string& name) {
    const auto path = registry::resolve_model(name, registry::models_dir());
    const gguf::GgufFile file = gguf::GgufFile::open_model(path);
    const gguf::Summary s = gguf::summarize(file);
    std::printf("model:            %s\n", name.c_str());
    std::printf("file:             %s\n", path.c_str());
    std::printf("name:             %s\n", s.name.empty() ? "-" : s.name.c_str());
    std::printf("architecture:     %s\n", s.architecture.empty() ? "-" : s.architecture.c_str());
    print_weights_summary(file, s);

    std::printf("\nhyper-parameters:\n");
    const std::string prefix = s.architecture + ".";
    for (const gguf::KeyValue& kv : file.metadata()) {
        if (s.architecture.empty() || kv.key.rfind(prefix, 0) != 0) continue;
        std::printf("  %-40s %s\n", kv.key.substr(prefix.size()).c_str(),
                    gguf::to_display_string(kv.value).c_str());
    }
    print_tokenizer(file, s);

    const auto chat_template = file.get_string("tokenizer.chat_template");
    std::printf(
        "\nchat template:%s\n",
        chat_template
            ? ""
            : " none in the file (Pensieve uses a built-in one for the architecture, else ChatML)");
    if (chat_template) std::printf("%s\n", chat_template->c_str());
}

}  // namespace

void register_show(CLI::App& app) {
    auto name = std::make_shared<std::string>();
    CLI::App* cmd =
        app.add_subcommand("show", "Print a model's hyper-parameters, tokenizer and chat template");
    cmd->add_option("name", *name, "Model name (as `pensieve models` lists it), known name or file")
        ->required();
    cmd->callback([name] { run_show(*name); });
}

}  // namespace pensieve::cli
