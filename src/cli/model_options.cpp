// Model loading and chat-prompt construction for the generating subcommands.
#include "cli/model_options.hpp"

#include <stdexcept>

#include "chat/limits.hpp"
#include "cli/text_file.hpp"
#include "registry/known_models.hpp"
#include "registry/model_dir.hpp"
#include "registry/web_source.hpp"

namespace pensieve::cli {

void add_model_options(CLI::App& cmd, ModelOptions& o, std::vector<std::string>* several) {
    if (several != nullptr) {
        cmd.add_option("-m,--model", *several,
                       "Model file or known model name; repeat to serve several (the first is "
                       "the default, loaded at start-up; default: the default model)")
            ->envname("PENSIEVE_MODEL");
    } else {
        cmd.add_option("-m,--model", o.model,
                       "Model file or known model name (default: the default model)")
            ->envname("PENSIEVE_MODEL");
    }
    cmd.add_option("-t,--threads", o.threads, "Threads for inference (default: all cores)")
        ->envname("PENSIEVE_THREADS");
    cmd.add_option("-c,--ctx", o.ctx, "Context size in tokens")
        ->envname("PENSIEVE_CTX")
        ->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
    cmd.add_option("--chat-template", o.chat_template,
                   "Jinja chat template file used instead of the model's own")
        ->envname("PENSIEVE_CHAT_TEMPLATE")
        ->check(CLI::ExistingFile);
    cmd.add_option("--kv-type", o.kv_type,
                   "KV cache type: f16 (default), bf16, or q8_0 (half the memory and bandwidth)")
        ->envname("PENSIEVE_KV_TYPE")
        ->check(CLI::IsMember({"f16", "bf16", "q8_0"}));
    cmd.add_flag("--mlock", o.mlock,
                 "Lock the model's weights in RAM (no page-cache eviction; needs RLIMIT_MEMLOCK "
                 "of at least the file size)")
        ->envname("PENSIEVE_MLOCK");
    cmd.add_option("--gpu-layers", o.gpu_layers,
                   "Run the matmuls of the first N layers on the GPU (-1: all layers and the "
                   "output; default 0, CPU only)")
        ->envname("PENSIEVE_GPU_LAYERS")
        ->check(CLI::Range(int64_t{-1}, int64_t{1} << 20));
    cmd.add_option("--gpu", o.gpu, "The Vulkan device for --gpu-layers (default 0)")
        ->envname("PENSIEVE_GPU")
        ->check(CLI::Range(0, 1 << 16));
}

gguf::TensorType kv_type(const ModelOptions& o) {
    if (o.kv_type == "bf16") return gguf::TensorType::BF16;
    if (o.kv_type == "q8_0") return gguf::TensorType::Q8_0;
    return gguf::TensorType::F16;
}

LoadedModel load_model(const ModelOptions& o) {
    const std::string name = o.model.empty() ? registry::default_model().name : o.model;
    const auto path = registry::resolve_model(name, registry::models_dir());
    LoadedModel m;
    const auto known = registry::find_known_model(name);
    // A split model is named by its parts' common prefix, as `models` lists it.
    const auto split = registry::parse_split_name(path.filename().string());
    m.name = known ? known->name : split ? split->prefix : path.stem().string();
    m.path = path;
    m.model = model::Model::load(path);
    if (o.mlock) m.model->lock_in_memory();
    if (o.gpu_layers != 0) m.model->offload_to_gpu(o.gpu, o.gpu_layers);
    m.tokenizer =
        std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(m.model->file()));
    chat::ModelChatTemplate chat_template = chat::model_chat_template(m.model->file());
    if (!o.chat_template.empty()) {
        chat_template.source = read_text_file(o.chat_template, "--chat-template",
                                              chat::Limits{}.max_template_bytes);
        chat_template.origin = chat::ModelChatTemplate::Origin::File;
    }
    m.prompt = std::make_unique<chat::PromptBuilder>(chat_template, *m.tokenizer);
    return m;
}

}  // namespace pensieve::cli
