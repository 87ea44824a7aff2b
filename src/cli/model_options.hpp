// What the generating subcommands (run, chat, bench, perplexity) share: the
// --model/--threads/--ctx/--kv-type options and loading a model with its tokenizer and
// chat template.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "chat/prompt_tokens.hpp"
#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace pensieve::cli {

struct ModelOptions {
    std::string model;  // path or known name; empty: the default model
    int threads = 0;    // 0: PENSIEVE_THREADS or all hardware threads
    int64_t ctx = 4096;
    std::string chat_template;    // a Jinja file that replaces the model's template
    std::string kv_type = "f16";  // f16, bf16 or q8_0
    bool mlock = false;           // lock the mapped weights in RAM
    int64_t gpu_layers = 0;       // layers whose matmuls run on the GPU; -1: all
    int gpu = 0;                  // the Vulkan device (`pensieve gpu` lists them)
};

// The KV cache type --kv-type names.
gguf::TensorType kv_type(const ModelOptions& options);

// Adds --model (env PENSIEVE_MODEL), --threads (PENSIEVE_THREADS), --ctx (PENSIEVE_CTX),
// --chat-template (PENSIEVE_CHAT_TEMPLATE), --kv-type (PENSIEVE_KV_TYPE), --mlock
// (PENSIEVE_MLOCK), --gpu-layers (PENSIEVE_GPU_LAYERS) and --gpu (PENSIEVE_GPU).
// With `several` (serve), --model may repeat and fills it instead.
void add_model_options(CLI::App& cmd, ModelOptions& options,
                       std::vector<std::string>* several = nullptr);

struct LoadedModel {
    std::string name;  // the known model's name, or the file's stem
    std::filesystem::path path;
    std::unique_ptr<model::Model> model;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    std::unique_ptr<chat::PromptBuilder> prompt;  // the model's chat template
};

// Resolves the path (registry), maps the model, reads its tokenizer and
// parses its chat template (or the built-in/ChatML fallback).
LoadedModel load_model(const ModelOptions& options);

}  // namespace pensieve::cli
