// `pensieve quantize IN OUT --type T`: requantize a model's weight matrices
// to another format (see model/requantize.hpp), e.g. to compare formats of a
// model published in only one.
#include <strings.h>
#include <cstdio>
#include <stdexcept>

#include "cli/commands.hpp"
#include "gguf/file.hpp"
#include "model/requantize.hpp"
#include "registry/model_dir.hpp"

namespace pensieve::cli {
namespace {

struct QuantizeOptions {
    std::string in, out, type;
};

gguf::TensorType parse_type(const std::string& name) {
    for (uint32_t id = 0; id < 64; ++id) {
        const auto info = gguf::type_info(id);
        if (info && strcasecmp(std::string(info->name).c_str(), name.c_str()) == 0) {
            return static_cast<gguf::TensorType>(id);
        }
    }
    throw std::invalid_argument("unknown weight format '" + name + "' (e.g. q4_0, q5_0, q8_0)");
}

void quantize(const QuantizeOptions& o) {
    const gguf::TensorType type = parse_type(o.type);
    const auto path = registry::resolve_model(o.in, registry::models_dir());
    const gguf::GgufFile in = gguf::GgufFile::open_model(path);  // every part of a split one
    const model::RequantizeStats s = model::requantize(in, o.out, type);
    std::printf("%s: %lld matrices to %s, %lld tensors kept, %.1f MiB -> %.1f MiB\n", o.out.c_str(),
                static_cast<long long>(s.converted),
                std::string(gguf::type_info(type).name).c_str(), static_cast<long long>(s.kept),
                static_cast<double>(s.bytes_in) / (1 << 20),
                static_cast<double>(s.bytes_out) / (1 << 20));
}

}  // namespace

void register_quantize(CLI::App& app) {
    auto o = std::make_shared<QuantizeOptions>();
    CLI::App* cmd =
        app.add_subcommand("quantize", "Requantize a model's weights to another format");
    cmd->add_option("input", o->in, "Model file or known model name")->required();
    cmd->add_option("output", o->out, "GGUF file to write")->required();
    cmd->add_option("--type", o->type, "Weight format, e.g. q4_0, q5_0, q8_0")->required();
    cmd->callback([o] { quantize(*o); });
}

}  // namespace pensieve::cli
