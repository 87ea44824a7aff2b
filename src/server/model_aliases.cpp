// Glob matching, the alias file, memory sizes and the unloading choice.
#include "server/model_aliases.hpp"

#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

namespace pensieve::server {

namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

}  // namespace

// The classic greedy matcher: on a mismatch, retry from the last `*` one
// character further on. No recursion, no backtracking blow-up.
bool glob_match(std::string_view pattern, std::string_view text) {
    size_t p = 0;
    size_t t = 0;
    size_t star = std::string_view::npos;  // position of the last `*` seen
    size_t resume = 0;                     // where that `*`'s match ends now
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(text[t]))) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::vector<AliasRule> parse_alias_config(std::string_view text, const std::string& source) {
    nlohmann::ordered_json doc;
    try {
        doc = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw AliasConfigError(source + ": not valid JSON: " + e.what());
    }
    if (!doc.is_object()) {
        throw AliasConfigError(source + ": must be a JSON object like {\"aliases\": {...}}");
    }
    std::vector<AliasRule> rules;
    for (const auto& [key, value] : doc.items()) {
        if (key != "aliases") {
            throw AliasConfigError(source + ": unknown key \"" + key +
                                   "\" (the file holds only \"aliases\")");
        }
        if (!value.is_object()) {
            throw AliasConfigError(source +
                                   ": \"aliases\" must be an object of pattern → model name");
        }
        for (const auto& [pattern, target] : value.items()) {
            if (pattern.empty()) throw AliasConfigError(source + ": an alias pattern is empty");
            if (!target.is_string() || target.get<std::string>().empty()) {
                throw AliasConfigError(source + ": alias \"" + pattern +
                                       "\" must map to a model name (a non-empty string)");
            }
            rules.push_back({pattern, target.get<std::string>()});
        }
    }
    return rules;
}

std::optional<std::string> match_alias(const std::vector<AliasRule>& rules,
                                       std::string_view requested) {
    for (const AliasRule& rule : rules) {
        if (glob_match(rule.pattern, requested)) return rule.target;
    }
    return std::nullopt;
}

int64_t parse_memory_size(std::string_view text) {
    const std::string original(text);
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    if (digits == 0 || digits > 15) {
        throw std::invalid_argument("'" + original + "' is not a size (e.g. 512MiB, 8GiB)");
    }
    const int64_t number = std::stoll(std::string(text.substr(0, digits)));
    std::string unit;
    for (char c : text.substr(digits)) unit += lower(c);
    if (unit.size() > 1 && (unit.ends_with("ib") || unit.ends_with("b"))) {
        unit = unit.substr(0, unit.ends_with("ib") ? unit.size() - 2 : unit.size() - 1);
    }
    int shift = 0;
    if (unit.empty() || unit == "m") {
        shift = 20;
    } else if (unit == "k") {
        shift = 10;
    } else if (unit == "g") {
        shift = 30;
    } else if (unit == "t") {
        shift = 40;
    } else {
        throw std::invalid_argument("'" + original + "': unknown unit (use K, M, G or T)");
    }
    if (number == 0) throw std::invalid_argument("'" + original + "' must be more than zero");
    if (number > (std::numeric_limits<int64_t>::max() >> shift)) {
        throw std::invalid_argument("'" + original + "' is too large");
    }
    return number << shift;
}

std::optional<size_t> choose_unload(const std::vector<LoadedCandidate>& loaded) {
    std::optional<size_t> best;
    for (size_t i = 0; i < loaded.size(); ++i) {
        if (loaded[i].busy) continue;
        if (!best || loaded[i].last_used < loaded[*best].last_used) best = i;
    }
    return best;
}

}  // namespace pensieve::server
