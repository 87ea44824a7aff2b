// libFuzzer entry point for what a request's tool schemas reach: bytes ->
// JSON (the request parser's bounded reader) -> either one JSON Schema
// (structured output) or a tool list whose call schema chat::call_schema
// builds -> grammar::compile_schema -> token masks over a small vocabulary,
// walked along the rest of the input. Any input must give a grammar, a
// SchemaError or a parse error — never a crash, a hang or unbounded memory —
// and every mask must agree with the matcher: a token is allowed exactly when
// the matcher consumes all of its bytes (end-of-generation: when the
// document is complete).
//
// Input: <JSON> '\0' <bytes that pick tokens>.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/error.hpp"
#include "api/json_body.hpp"
#include "chat/tools/tool_constraint.hpp"
#include "engine/grammar/schema_compiler.hpp"
#include "engine/grammar/token_mask.hpp"

namespace {

using namespace pensieve;
using json = nlohmann::ordered_json;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_schema: %s\n", what);
    std::abort();
}

// Every single byte, plus multi-byte pieces a JSON tokenizer would have;
// id 0 is the end of generation.
std::shared_ptr<const grammar::TokenVocabulary> vocabulary() {
    std::vector<std::string> bytes{""};
    for (int c = 1; c < 256; ++c) bytes.emplace_back(1, static_cast<char>(c));
    for (const char* piece : {"{\"", "\": ", "\", \"", "\"}", "}}", "true", "false", "null", "12",
                              "-3", "name", "arguments", "\\n", "\\u00e9", "é", "[{", "}]", "\"]",
                              ", ", "0.5", "e+7", "\xe2\x82", "\xac"}) {
        bytes.emplace_back(piece);
    }
    return std::make_shared<const grammar::TokenVocabulary>(std::move(bytes),
                                                            std::vector<grammar::TokenId>{0});
}

json schema_of(const json& input) {
    if (!input.is_array()) return input;
    // A tool list, as the server turns it into the schema of one call.
    std::vector<std::string> names;
    for (const json& t : input) {
        if (t.is_object() && t.contains("name") && t["name"].is_string() &&
            t.contains("input_schema")) {
            names.push_back(t["name"].get<std::string>());
        }
    }
    if (names.empty()) return input;
    return chat::call_schema(chat::ToolCallSyntax::Hermes, input, names, chat::ToolChoice{});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto vocab = vocabulary();
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const size_t split = all.find('\0');
    const std::string_view text = all.substr(0, split);
    const std::string_view picks = split == std::string_view::npos ? "" : all.substr(split + 1);
    json input;
    try {
        input = api::parse_json_body(text, api::RequestLimits{});
    } catch (const api::ApiError&) {
        return 0;
    }
    std::shared_ptr<const grammar::GrammarMasks> masks;
    try {
        masks = std::make_shared<const grammar::GrammarMasks>(
            std::make_shared<const grammar::Grammar>(grammar::compile_schema(schema_of(input))),
            vocab);
    } catch (const grammar::SchemaError&) {
        return 0;
    }
    grammar::Matcher matcher(masks->grammar());
    std::vector<uint64_t> mask(vocab->words());
    for (size_t step = 0; step < picks.size() && step < 64; ++step) {
        masks->compute(matcher.state(), mask);
        std::vector<grammar::TokenId> allowed;
        for (size_t id = 0; id < vocab->size(); ++id) {
            const bool on = (mask[id >> 6] >> (id & 63)) & 1;
            bool consumes = false;
            if (id == 0) {
                consumes = matcher.accepting();
            } else {
                grammar::Matcher copy = matcher;
                consumes = copy.advance(vocab->bytes(static_cast<grammar::TokenId>(id)));
            }
            if (on != consumes) fail("a mask disagrees with the matcher");
            if (on && id != 0) allowed.push_back(static_cast<grammar::TokenId>(id));
        }
        if (allowed.empty()) break;
        const auto pick = allowed[static_cast<uint8_t>(picks[step]) % allowed.size()];
        if (!matcher.advance(vocab->bytes(pick))) fail("an allowed token was rejected");
    }
    return 0;
}
