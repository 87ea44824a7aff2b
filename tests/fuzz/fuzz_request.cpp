// libFuzzer entry point for the request path: bytes -> JSON ->
// api::parse_messages_request (and the OpenAI dialect's translation,
// api::parse_chat_completions_request, and Ollama's /api/chat and
// /api/generate, into the same normalised request; raw prompts have no
// template) -> tools and tool history into template inputs
// (chat::tool_prompt_inputs; SmolLM2's template takes the built-in tool
// prompt) -> SmolLM2's chat template (the default model's) -> prompt token
// ids, for Messages, count_tokens and Chat Completions. Any body must give
// tokens, a 400 ApiError or a template error — never crash, hang, or grow
// without bound.
//
// The tokenizer is GPT-2's byte-level BPE vocabulary with SmolLM2's two
// ChatML control tokens added, so the prompt-injection boundary is checked
// too: the template's own text yields control tokens, client text never does.
// SmolLM2's template prints each content verbatim and looks only at roles, so
// the right split is known independently: render with every content replaced
// by a marker, cut that render at the markers (template text) and put the real
// contents between them (client text). The prompt's ids must be exactly the
// ids of that split.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../chatml_fixture.hpp"
#include "api/error.hpp"
#include "api/messages_request.hpp"
#include "api/ollama_request.hpp"
#include "api/openai_request.hpp"
#include "chat/error.hpp"
#include "chat/prompt_tokens.hpp"
#include "chat/tools/tool_prompt.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

using namespace pensieve;
using json = nlohmann::ordered_json;

chat::ModelChatTemplate smollm2_template() {
    chat::ModelChatTemplate t = testing::smollm2_template_source();
    t.architecture = "llama";
    t.bos_token = "<|im_start|>";
    t.eos_token = "<|im_end|>";
    return t;
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_request: %s\n", what);
    std::abort();
}

struct Setup {
    tokenizer::Tokenizer tokenizer = testing::chatml_gpt2_tokenizer();
    chat::PromptBuilder prompt{smollm2_template(), tokenizer};
    chat::ToolTemplateSupport tools = chat::tool_template_support(prompt.model_template().source);
};

// The ids of the split described at the top of this file.
std::vector<int32_t> expected_ids(const Setup& s, const json& messages,
                                  const std::string& continuation) {
    json marked = messages;
    std::vector<std::string> markers;
    for (size_t i = 0; i < marked.size(); ++i) {
        markers.push_back("\x1e" + std::to_string(i) + "\x1f");
        marked[i]["content"] = markers.back();
    }
    const std::string render = s.prompt.render(marked).text;
    std::vector<tokenizer::Segment> segments;
    size_t cursor = 0;
    for (size_t i = 0; i < markers.size(); ++i) {
        const size_t at = render.find(markers[i], cursor);
        if (at == std::string::npos) fail("the template did not print a message's content");
        segments.push_back(
            {std::string_view(render).substr(cursor, at - cursor), tokenizer::Specials::Parse});
        segments.push_back(
            {messages[i]["content"].get_ref<const std::string&>(), tokenizer::Specials::AsText});
        cursor = at + markers[i].size();
    }
    segments.push_back({std::string_view(render).substr(cursor), tokenizer::Specials::Parse});
    if (!continuation.empty()) segments.push_back({continuation, tokenizer::Specials::AsText});
    return s.tokenizer.encode(segments, {});
}

enum class Dialect {
    Messages,
    CountTokens,
    ChatCompletions,
    Completions,
    OllamaChat,
    OllamaGenerate
};

api::MessagesRequest parse(std::string_view body, Dialect dialect) {
    switch (dialect) {
        case Dialect::Messages:
            return api::parse_messages_request(body, api::Endpoint::Messages);
        case Dialect::CountTokens:
            return api::parse_messages_request(body, api::Endpoint::CountTokens);
        case Dialect::ChatCompletions:
            return api::parse_chat_completions_request(body).core;
        case Dialect::Completions:
            return api::parse_completions_request(body).core;
        case Dialect::OllamaChat:
            return api::parse_ollama_chat_request(body).core;
        case Dialect::OllamaGenerate:
            return api::parse_ollama_generate_request(body).core;
    }
    fail("unknown dialect");
}

void check(const Setup& s, std::string_view body, Dialect dialect) {
    try {
        const api::MessagesRequest r = parse(body, dialect);
        if (r.raw_prompt) {  // no template: the prompt is client text alone
            if (!r.messages.empty()) fail("a raw prompt came with messages");
            return;
        }
        if (r.messages.empty()) return;  // Ollama's load-only request
        const chat::ToolPromptInputs in = chat::tool_prompt_inputs(r.tools, r.messages, s.tools);
        if (!in.tools.is_null()) fail("SmolLM2's template takes the built-in tool prompt");
        const std::vector<int32_t> ids = s.prompt.build(in.messages, in.tools, r.continuation);
        for (const int32_t id : ids) {
            if (id < 0 || static_cast<size_t>(id) >= s.tokenizer.size()) fail("id out of range");
        }
        if (ids != expected_ids(s, in.messages, r.continuation)) {
            fail("client text and template text were split wrongly");
        }
    } catch (const api::ApiError& e) {
        if (e.status != 400 || e.type != "invalid_request_error") fail("not a 400 ApiError");
    } catch (const chat::ToolInputError&) {  // a 400 naming the field
    } catch (const chat::TemplateError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Setup setup;
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    check(setup, body, Dialect::Messages);
    check(setup, body, Dialect::CountTokens);
    check(setup, body, Dialect::ChatCompletions);
    check(setup, body, Dialect::Completions);
    check(setup, body, Dialect::OllamaChat);
    check(setup, body, Dialect::OllamaGenerate);
    return 0;
}
