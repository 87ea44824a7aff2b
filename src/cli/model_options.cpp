// Model loading and chat-prompt construction for the generating subcommands.
#include "cli/model_options.hpp"

#include "chat/chat_template.hpp"
#include "chat/model_template.hpp"
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
    m.model = model::Model::load(path);
    m.tokenizer =
        std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(m.model->file()));
    const chat::ModelChatTemplate t = chat::model_chat_template(m.model->file());
    m.template_origin = chat::origin_name(t.origin);
    m.bos_token = t.bos_token;
    m.eos_token = t.eos_token;
    m.chat_template = std::make_unique<chat::Template>(chat::Template::parse(t.source));
    return m;
}

namespace {

// Splits the rendered prompt into template text (trusted: control tokens
// allowed) and the message contents (client text: never control tokens), by
// finding each content string, in order, in the rendered text.
std::vector<tokenizer::Segment> trust_segments(std::string_view rendered,
                                               const nlohmann::ordered_json& messages) {
    std::vector<tokenizer::Segment> out;
    size_t cursor = 0;
    for (const auto& msg : messages) {
        if (!msg.contains("content") || !msg["content"].is_string()) continue;
        const std::string& content = msg["content"].get_ref<const std::string&>();
        if (content.empty()) continue;
        const size_t at = rendered.find(content, cursor);
        if (at == std::string_view::npos) continue;  // the template rewrote it: stays template text
        out.push_back({rendered.substr(cursor, at - cursor), tokenizer::Specials::Parse});
        out.push_back({rendered.substr(at, content.size()), tokenizer::Specials::AsText});
        cursor = at + content.size();
    }
    out.push_back({rendered.substr(cursor), tokenizer::Specials::Parse});
    return out;
}

}  // namespace

std::vector<int32_t> chat_prompt(const LoadedModel& m, const nlohmann::ordered_json& messages) {
    chat::ChatInputs in;
    in.messages = messages;
    in.add_generation_prompt = true;
    in.bos_token = m.bos_token;
    in.eos_token = m.eos_token;
    const std::string rendered = chat::render_chat(*m.chat_template, in);
    const auto segments = trust_segments(rendered, messages);
    // Templates write the BOS themselves when the model wants one.
    return m.tokenizer->encode(segments, {});
}

}  // namespace pensieve::cli
