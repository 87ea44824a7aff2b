// Model loading and chat-prompt construction for the generating subcommands.
#include "cli/model_options.hpp"

#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"

namespace pensieve::cli {

void add_model_options(CLI::App& cmd, ModelOptions& o) {
    cmd.add_option("-m,--model", o.model,
                   "Model file or known model name (default: the default model)")
        ->envname("PENSIEVE_MODEL");
    cmd.add_option("-t,--threads", o.threads, "Threads for inference (default: all cores)")
        ->envname("PENSIEVE_THREADS");
    cmd.add_option("-c,--ctx", o.ctx, "Context size in tokens")
        ->envname("PENSIEVE_CTX")
        ->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
}

LoadedModel load_model(const ModelOptions& o) {
    const std::string name = o.model.empty() ? registry::default_model().name : o.model;
    const auto path = registry::resolve_model(name, registry::models_dir());
    LoadedModel m;
    const auto known = registry::find_known_model(name);
    m.name = known ? known->name : path.stem().string();
    m.path = path;
    m.model = model::Model::load(path);
    m.tokenizer =
        std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(m.model->file()));
    m.prompt = std::make_unique<chat::PromptBuilder>(chat::model_chat_template(m.model->file()),
                                                     *m.tokenizer);
    return m;
}

}  // namespace pensieve::cli
