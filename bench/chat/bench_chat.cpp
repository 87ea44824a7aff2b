// Chat-template rendering cost: the default model's template (SmolLM2, ChatML style)
// over a 30-message conversation (target: well under 1 ms), plus a tool-using template
// and template parsing for scale. Each benchmark checks its output first: a wrong
// render reports an error instead of a time.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "chat/chat_template.hpp"

namespace {

using namespace pensieve::chat;
using nlohmann::ordered_json;

std::string read_template(const std::string& name) {
    std::ifstream in(std::string(PENSIEVE_SOURCE_DIR) + "/tests/data/chat_templates/" + name,
                     std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

ChatInputs conversation(int n_messages) {
    ChatInputs in;
    for (int i = 0; i < n_messages; ++i) {
        const bool user = i % 2 == 0;
        std::string content =
            user ? "Question " + std::to_string(i) + ": how do I sort a list in Python, and why?"
                 : "Answer " + std::to_string(i) +
                       ": use sorted(xs) for a new list or xs.sort() in place; both are stable "
                       "and take key= and reverse= arguments.";
        in.messages.push_back({{"role", user ? "user" : "assistant"}, {"content", content}});
    }
    in.add_generation_prompt = true;
    return in;
}

// What SmolLM2's template must produce, built by hand.
std::string expected_smollm2(const ChatInputs& in) {
    std::string out =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n";
    for (const auto& m : in.messages) {
        out += "<|im_start|>" + m["role"].get<std::string>() + "\n" +
               m["content"].get<std::string>() + "<|im_end|>\n";
    }
    return out + "<|im_start|>assistant\n";
}

void BM_RenderSmolLM2_30Messages(benchmark::State& state) {
    const Template tmpl = Template::parse(read_template("smollm2-135m-instruct.jinja"));
    const ChatInputs in = conversation(30);
    if (render_chat(tmpl, in) != expected_smollm2(in)) {
        state.SkipWithError("rendered prompt differs from the expected ChatML text");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(render_chat(tmpl, in));
}
BENCHMARK(BM_RenderSmolLM2_30Messages)->Unit(benchmark::kMicrosecond);

void BM_RenderQwen25WithTools_30Messages(benchmark::State& state) {
    const Template tmpl = Template::parse(read_template("qwen2.5-instruct.jinja"));
    ChatInputs in = conversation(30);
    in.tools = ordered_json::parse(R"([{"type": "function", "function": {"name": "get_weather",
        "description": "Get the weather", "parameters": {"type": "object", "properties":
        {"city": {"type": "string"}}, "required": ["city"]}}}])");
    const std::string out = render_chat(tmpl, in);
    if (out.find("<tools>\n{\"type\": \"function\"") == std::string::npos ||
        out.find("Answer 29") == std::string::npos) {
        state.SkipWithError("rendered prompt is missing the tools or the last message");
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(render_chat(tmpl, in));
}
BENCHMARK(BM_RenderQwen25WithTools_30Messages)->Unit(benchmark::kMicrosecond);

void BM_ParseLlama32Template(benchmark::State& state) {
    const std::string source = read_template("llama-3.2-3b-instruct.jinja");
    for (auto _ : state) benchmark::DoNotOptimize(Template::parse(source));
}
BENCHMARK(BM_ParseLlama32Template)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
