// `pensieve`: the command-line entry point. Each subcommand is registered by a
// function from its own cmd_*.cpp file; main only wires them together and
// maps uncaught errors to exit codes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"Pensieve: a local LLM inference server"};
    app.require_subcommand(1);
    pensieve::cli::register_info(app);
    pensieve::cli::register_pull(app);
    pensieve::cli::register_models(app);
    pensieve::cli::register_show(app);
    pensieve::cli::register_run(app);
    pensieve::cli::register_chat(app);
    pensieve::cli::register_bench(app);
    pensieve::cli::register_perplexity(app);
    pensieve::cli::register_serve(app);
    pensieve::cli::register_quantize(app);
    pensieve::cli::register_tokenize(app);
    pensieve::cli::register_cpu(app);
    pensieve::cli::register_gpu(app);
    pensieve::cli::register_template(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return pensieve::cli::exit_code();
}
