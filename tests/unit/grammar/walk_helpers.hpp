// What the grammar tests that walk real tool calls share: the test data, the
// schema of one tool_choice "any" call to any of some tools as the server
// builds it (chat::call_schema, Hermes shape: {"name", "arguments"}), and a
// random draw from a mask that leans towards the end of the document.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "chat/tools/tool_constraint.hpp"
#include "engine/grammar/token_mask.hpp"

namespace pensieve::grammar {

inline nlohmann::ordered_json load(const char* file) {
    std::ifstream in(std::string(PENSIEVE_SOURCE_DIR) + "/tests/data/grammar/" + file);
    if (!in) throw std::runtime_error(std::string("missing test data ") + file);
    return nlohmann::ordered_json::parse(in);
}

inline bool has(const std::vector<uint64_t>& mask, size_t id) {
    return (mask[id >> 6] >> (id & 63)) & 1;
}

// The mask by definition: a token is allowed iff a matcher consumes all its
// bytes, end of generation iff the document is complete; with `newline_too`
// also "\n" alone (the one newline a call's framing allows before its JSON).
inline std::vector<uint64_t> brute_force_mask(const Matcher& m, const TokenVocabulary& v,
                                              bool newline_too = false) {
    std::vector<uint64_t> out(v.words(), 0);
    for (size_t id = 0; id < v.size(); ++id) {
        const auto tid = static_cast<TokenId>(id);
        bool ok = false;
        if (v.is_eog(tid)) {
            ok = m.accepting();
        } else if (!v.bytes(tid).empty()) {
            Matcher copy = m;
            ok = copy.advance(v.bytes(tid));
            if (newline_too && v.bytes(tid) == "\n") ok = true;
        }
        if (ok) out[id >> 6] |= uint64_t{1} << (id & 63);
    }
    return out;
}

// Draws an allowed token: end of generation with probability p_end when
// allowed, else a token holding one of `structural` bytes with p_structural,
// else any allowed token; so that random documents finish within a budget.
inline TokenId leaning_draw(const std::vector<uint64_t>& mask, const TokenVocabulary& v,
                            std::mt19937& rng, std::string_view structural, double p_end,
                            double p_structural) {
    std::vector<TokenId> allowed, eog, marks;
    for (size_t id = 0; id < v.size(); ++id) {
        if (!has(mask, id)) continue;
        const auto tid = static_cast<TokenId>(id);
        allowed.push_back(tid);
        if (v.is_eog(tid)) {
            eog.push_back(tid);
        } else if (v.bytes(tid).find_first_of(structural) != std::string::npos) {
            marks.push_back(tid);
        }
    }
    if (allowed.empty()) throw std::runtime_error("an empty mask");
    std::uniform_real_distribution<double> coin(0, 1);
    auto pick = [&](const std::vector<TokenId>& from) {
        return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
    };
    if (!eog.empty() && coin(rng) < p_end) return pick(eog);
    if (!marks.empty() && coin(rng) < p_structural) return pick(marks);
    return pick(allowed);
}

inline nlohmann::ordered_json any_call_schema(const nlohmann::ordered_json& tools) {
    std::vector<std::string> names;
    for (const auto& tool : tools) names.push_back(tool["name"]);
    chat::ToolChoice any;
    any.kind = chat::ToolChoice::Kind::Any;
    return chat::call_schema(chat::ToolCallSyntax::Hermes, tools, names, any);
}

}  // namespace pensieve::grammar
