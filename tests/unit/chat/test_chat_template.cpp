// render_chat: the variables transformers passes, the default model's template, and the
// built-in fallbacks for GGUFs without a template.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "chat/chat_template.hpp"
#include "chat/error.hpp"

using namespace pensieve::chat;
using nlohmann::ordered_json;

namespace {

std::string read_template(const std::string& name) {
    std::ifstream in(std::string(PENSIEVE_SOURCE_DIR) + "/tests/data/chat_templates/" + name,
                     std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

ChatInputs conversation() {
    ChatInputs in;
    in.messages = ordered_json::parse(R"([{"role": "user", "content": "Hi"},
                                          {"role": "assistant", "content": "Hello!"},
                                          {"role": "user", "content": "Bye"}])");
    in.add_generation_prompt = true;
    return in;
}

}  // namespace

TEST(ChatTemplate, RendersTheDefaultModelsTemplate) {
    const Template t = Template::parse(read_template("smollm2-135m-instruct.jinja"));
    EXPECT_EQ(render_chat(t, conversation()),
              "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
              "Face<|im_end|>\n"
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
              "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, GemmaFallbackIsChosenByArchitecture) {
    const auto source = builtin_template_for_architecture("gemma3");
    ASSERT_TRUE(source.has_value());
    EXPECT_EQ(*source, read_template("gemma-3-it.jinja"));
    ChatInputs in = conversation();
    in.bos_token = "<bos>";
    in.messages.insert(in.messages.begin(),
                       ordered_json{{"role", "system"}, {"content", "Be brief."}});
    EXPECT_EQ(render_chat(*source, in),
              "<bos><start_of_turn>user\nBe "
              "brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
              "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
    EXPECT_FALSE(builtin_template_for_architecture("llama").has_value());
}

TEST(ChatTemplate, ChatmlFallbackRenders) {
    EXPECT_EQ(render_chat(chatml_template(), conversation()),
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
              "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, ToolsAreNoneWhenAbsentAndKeepKeyOrderWhenGiven) {
    const char* src = "{{ tools is none }}|{{ tools|tojson if tools else '' }}";
    ChatInputs in;
    EXPECT_EQ(render_chat(src, in), "True|");
    in.tools =
        ordered_json::parse(R"([{"type": "function", "function": {"name": "f", "b": 1, "a": 2}}])");
    EXPECT_EQ(
        render_chat(src, in),
        "False|[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"b\": 1, \"a\": 2}}]");
}

TEST(ChatTemplate, ExtraArgumentsBecomeVariables) {
    ChatInputs in;
    in.extra = {{"enable_thinking", false}, {"date_string", "26 Jul 2024"}};
    EXPECT_EQ(render_chat("{{ enable_thinking is false }} {{ date_string }}", in),
              "True 26 Jul 2024");
}

TEST(ChatTemplate, TemplateRejectionIsARaisedError) {
    ChatInputs in;
    in.messages = ordered_json::parse(R"([{"role": "assistant", "content": "first"}])");
    EXPECT_THROW(render_chat(*builtin_template_for_architecture("gemma3"), in),
                 TemplateRaisedError);
}

TEST(ChatTemplate, OneTemplateServesConcurrentRenders) {
    const Template t = Template::parse(read_template("qwen2.5-instruct.jinja"));
    const std::string expected = render_chat(t, conversation());
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            for (int k = 0; k < 50; ++k) {
                if (render_chat(t, conversation()) != expected) ++mismatches;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches.load(), 0);
}
