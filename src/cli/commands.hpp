// Registration functions for the `pensieve` subcommands, one per cmd_*.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "gguf/file.hpp"
#include "gguf/summary.hpp"

namespace pensieve::cli {

void register_info(CLI::App& app);      // cmd_info.cpp
void register_pull(CLI::App& app);      // cmd_pull.cpp
void register_models(CLI::App& app);    // cmd_models.cpp (models, rm)
void register_show(CLI::App& app);      // cmd_show.cpp
void register_tokenize(CLI::App& app);  // cmd_tokenize.cpp
void register_cpu(CLI::App& app);       // cmd_cpu.cpp
void register_gpu(CLI::App& app);       // cmd_gpu.cpp
void register_template(CLI::App& app);  // cmd_template.cpp

void register_run(CLI::App& app);         // cmd_run.cpp
void register_chat(CLI::App& app);        // cmd_chat.cpp
void register_bench(CLI::App& app);       // cmd_bench.cpp
void register_perplexity(CLI::App& app);  // cmd_perplexity.cpp
void register_serve(CLI::App& app);       // cmd_serve.cpp
void register_quantize(CLI::App& app);    // cmd_quantize.cpp

// The weights part of `info` and `show` (cmd_info.cpp): split parts,
// parameters, tensor count and bytes, and the format mix.
void print_weights_summary(const gguf::GgufFile& file, const gguf::Summary& s);

// Subcommand callbacks set the process exit code here (default 0).
void set_exit_code(int code);
int exit_code();

}  // namespace pensieve::cli
