// `pensieve info FILE [--tensors] [--json]`: what a GGUF file holds. The first
// part of a split model stands for the whole model (every part is read); a
// later part is described alone.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "gguf/summary.hpp"

namespace pensieve::cli {
namespace {

struct InfoOptions {
    std::string path;
    bool tensors = false;
    bool json = false;
};

std::string shape_string(const gguf::TensorInfo& t) {
    std::string s = "[";
    for (size_t i = 0; i < t.dims.size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims[i]);
    return s + "]";
}

nlohmann::json to_json(const gguf::GgufFile& file, const gguf::Summary& s, bool tensors) {
    auto opt = [](const std::optional<int64_t>& v) {
        return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    nlohmann::json j = {
        {"gguf_version", s.version},
        {"parts", file.part_count()},
        {"architecture", s.architecture},
        {"name", s.name},
        {"parameters", s.parameters},
        {"tensor_count", s.tensor_count},
        {"tensor_bytes", s.tensor_bytes},
        {"context_length", opt(s.context_length)},
        {"embedding_length", opt(s.embedding_length)},
        {"block_count", opt(s.block_count)},
        {"feed_forward_length", opt(s.feed_forward_length)},
        {"head_count", opt(s.head_count)},
        {"head_count_kv", opt(s.head_count_kv)},
        {"vocab_size", s.vocab_size},
        {"tokenizer_model", s.tokenizer_model},
        {"tokenizer_pre", s.tokenizer_pre},
        {"has_chat_template", s.has_chat_template},
    };
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [name, use] : s.types) {
        types[name] = {{"tensors", use.tensors}, {"bytes", use.bytes}, {"elements", use.elements}};
    }
    j["types"] = types;
    if (tensors) {
        nlohmann::json list = nlohmann::json::array();
        for (const gguf::TensorInfo& t : file.tensors()) {
            list.push_back({{"name", t.name},
                            {"type", gguf::type_info(t.type).name},
                            {"shape", t.dims},
                            {"part", t.part},
                            {"offset", file.data_offset(t.part) + t.offset},
                            {"bytes", t.n_bytes}});
        }
        j["tensors"] = list;
    }
    return j;
}

}  // namespace

void print_weights_summary(const gguf::GgufFile& file, const gguf::Summary& s) {
    if (file.part_count() > 1) std::printf("split parts:      %u (all read)\n", file.part_count());
    std::printf("parameters:       %llu (%.1f M)\n", static_cast<unsigned long long>(s.parameters),
                static_cast<double>(s.parameters) / 1e6);
    std::printf("tensors:          %llu (%.1f MiB)\n",
                static_cast<unsigned long long>(s.tensor_count),
                static_cast<double>(s.tensor_bytes) / (1024.0 * 1024.0));
    for (const auto& [name, use] : s.types) {
        std::printf("  %-8s        %4llu tensors, %10llu bytes\n", name.c_str(),
                    static_cast<unsigned long long>(use.tensors),
                    static_cast<unsigned long long>(use.bytes));
    }
}

namespace {

void print_text(const gguf::GgufFile& file, const gguf::Summary& s, bool tensors) {
    auto opt = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; };
    std::printf("GGUF version:     %u\n", s.version);
    std::printf("architecture:     %s\n", s.architecture.empty() ? "-" : s.architecture.c_str());
    std::printf("name:             %s\n", s.name.empty() ? "-" : s.name.c_str());
    print_weights_summary(file, s);
    std::printf("context length:   %s\n", opt(s.context_length).c_str());
    std::printf("embedding size:   %s\n", opt(s.embedding_length).c_str());
    std::printf("layers:           %s\n", opt(s.block_count).c_str());
    std::printf("feed-forward:     %s\n", opt(s.feed_forward_length).c_str());
    std::printf("heads / KV heads: %s / %s\n", opt(s.head_count).c_str(),
                opt(s.head_count_kv).c_str());
    std::printf("vocabulary:       %llu tokens\n", static_cast<unsigned long long>(s.vocab_size));
    std::printf("tokenizer:        %s (pre-tokenizer: %s)\n",
                s.tokenizer_model.empty() ? "-" : s.tokenizer_model.c_str(),
                s.tokenizer_pre.empty() ? "-" : s.tokenizer_pre.c_str());
    std::printf("chat template:    %s\n", s.has_chat_template ? "yes" : "no");
    if (!tensors) return;
    const bool split = file.part_count() > 1;
    std::printf("\n%-48s %-8s %-24s %s%s\n", "tensor", "type", "shape", split ? "part " : "",
                "offset");
    for (const gguf::TensorInfo& t : file.tensors()) {
        const std::string part = split ? std::to_string(t.part + 1) + "    " : "";
        std::printf("%-48s %-8s %-24s %s%llu\n", t.name.c_str(),
                    std::string(gguf::type_info(t.type).name).c_str(), shape_string(t).c_str(),
                    part.c_str(),
                    static_cast<unsigned long long>(file.data_offset(t.part) + t.offset));
    }
}

// The whole model when `path` is the first part of a split model.
gguf::GgufFile open_for_info(const std::string& path) {
    gguf::GgufFile file = gguf::GgufFile::open(path);
    if (file.get_int("split.count").value_or(1) > 1 && file.get_int("split.no").value_or(0) == 0) {
        return gguf::GgufFile::open_model(path);
    }
    return file;
}

void run_info(const InfoOptions& o) {
    try {
        const gguf::GgufFile file = open_for_info(o.path);
        const gguf::Summary s = gguf::summarize(file);
        if (o.json)
            std::printf("%s\n", to_json(file, s, o.tensors).dump(2).c_str());
        else
            print_text(file, s, o.tensors);
    } catch (const gguf::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());  // it names the file
        set_exit_code(1);
    }
}

}  // namespace

void register_info(CLI::App& app) {
    auto opts = std::make_shared<InfoOptions>();
    CLI::App* cmd = app.add_subcommand("info", "Describe a GGUF model file");
    cmd->add_option("file", opts->path, "GGUF file")->required();
    cmd->add_flag("--tensors", opts->tensors, "Also list every tensor");
    cmd->add_flag("--json", opts->json, "Print JSON instead of text");
    cmd->callback([opts] { run_info(*opts); });
}

}  // namespace pensieve::cli
