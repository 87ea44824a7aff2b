// `pensieve template --model FILE --messages FILE.json [--add-generation-prompt]`: prints
// the prompt a conversation renders to through the model's chat template (debugging
// and tests). The messages file is a JSON array of messages, or an object with
// "messages" and optionally "tools" and further template variables.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "chat/chat_template.hpp"
#include "chat/error.hpp"
#include "chat/limits.hpp"
#include "chat/model_template.hpp"
#include "cli/commands.hpp"
#include "cli/text_file.hpp"
#include "gguf/file.hpp"

namespace pensieve::cli {
namespace {

struct TemplateOptions {
    std::string model;
    std::string messages;
    std::string template_file;
    bool add_generation_prompt = false;
};

nlohmann::ordered_json read_json(const std::string& path) {
    return nlohmann::ordered_json::parse(read_text_file(path, "--messages", size_t{256} << 20));
}

void run_template(const TemplateOptions& o) {
    try {
        const gguf::GgufFile file = gguf::GgufFile::open(o.model);
        chat::ModelChatTemplate model = chat::model_chat_template(file);
        if (!o.template_file.empty()) {
            model.source = read_text_file(o.template_file, "--template",
                                          chat::Limits{}.max_template_bytes);
        } else if (model.origin != chat::ModelChatTemplate::Origin::Model) {
            std::fprintf(stderr, "note: %s has no tokenizer.chat_template; using the %s template\n",
                         o.model.c_str(), chat::origin_name(model.origin));
        }
        const nlohmann::ordered_json request = read_json(o.messages);
        chat::ChatInputs inputs;
        inputs.bos_token = model.bos_token;
        inputs.eos_token = model.eos_token;
        inputs.add_generation_prompt = o.add_generation_prompt;
        if (request.is_array()) {
            inputs.messages = request;
        } else {
            for (const auto& [key, value] : request.items()) {
                if (key == "messages")
                    inputs.messages = value;
                else if (key == "tools")
                    inputs.tools = value;
                else
                    inputs.extra[key] = value;
            }
        }
        const std::string prompt = chat::render_chat(chat::Template::parse(model.source), inputs);
        std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    } catch (const chat::TemplateSyntaxError& e) {
        std::fprintf(stderr, "error: chat template does not parse: %s\n", e.what());
        set_exit_code(1);
    } catch (const chat::TemplateError& e) {
        std::fprintf(stderr, "error: chat template rejected the messages: %s\n", e.what());
        set_exit_code(1);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        set_exit_code(1);
    }
}

}  // namespace

void register_template(CLI::App& app) {
    auto opts = std::make_shared<TemplateOptions>();
    CLI::App* cmd =
        app.add_subcommand("template", "Render messages through a model's chat template");
    cmd->add_option("--model", opts->model, "GGUF model file")->required();
    cmd->add_option("--messages", opts->messages,
                    "JSON file: a message array, or {messages, tools, ...}")
        ->required();
    cmd->add_option("--template", opts->template_file,
                    "Use this template file instead of the model's");
    cmd->add_flag("--add-generation-prompt", opts->add_generation_prompt,
                  "End with the assistant turn header");
    cmd->callback([opts] { run_template(*opts); });
}

}  // namespace pensieve::cli
