// Reduction of `pattern` regular expressions (see pattern.hpp).
#include "engine/grammar/pattern.hpp"

#include <algorithm>
#include <string_view>

namespace pensieve::grammar {
namespace {

bool allowed_in_pattern(unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void class_set(StringPattern& p, unsigned char c) {
    if (allowed_in_pattern(c)) p.cls[c >> 6] |= uint64_t{1} << (c & 63);
}

// Parses "[...]", "\d", "\w" at s[i]; advances i. false when unsupported.
bool parse_class(const std::string& s, size_t& i, StringPattern& p, bool& lossy) {
    auto add_escape = [&](char e) {
        if (e == 'd') {
            for (char c = '0'; c <= '9'; ++c) class_set(p, static_cast<unsigned char>(c));
        } else if (e == 'w') {
            for (char c = '0'; c <= '9'; ++c) class_set(p, static_cast<unsigned char>(c));
            for (char c = 'a'; c <= 'z'; ++c) class_set(p, static_cast<unsigned char>(c));
            for (char c = 'A'; c <= 'Z'; ++c) class_set(p, static_cast<unsigned char>(c));
            class_set(p, '_');
        } else if (std::ispunct(static_cast<unsigned char>(e))) {
            if (!allowed_in_pattern(static_cast<unsigned char>(e))) lossy = true;
            class_set(p, static_cast<unsigned char>(e));
        } else {
            return false;
        }
        return true;
    };
    if (s[i] == '\\') {
        if (i + 1 >= s.size() || !add_escape(s[i + 1])) return false;
        i += 2;
        return true;
    }
    if (s[i] != '[') return false;
    ++i;
    if (i < s.size() && s[i] == '^') return false;
    while (i < s.size() && s[i] != ']') {
        if (s[i] == '\\') {
            if (i + 1 >= s.size() || !add_escape(s[i + 1])) return false;
            i += 2;
            continue;
        }
        const auto lo = static_cast<unsigned char>(s[i]);
        if (lo >= 0x80) return false;
        if (i + 2 < s.size() && s[i + 1] == '-' && s[i + 2] != ']') {
            const auto hi = static_cast<unsigned char>(s[i + 2]);
            if (hi >= 0x80 || hi < lo) return false;
            for (unsigned c = lo; c <= hi; ++c) class_set(p, static_cast<unsigned char>(c));
            i += 3;
        } else {
            if (!allowed_in_pattern(lo)) lossy = true;
            class_set(p, lo);
            ++i;
        }
    }
    if (i >= s.size()) return false;
    ++i;  // ']'
    return true;
}

// Reduces `^literal` or `^literal[class]{m,n}$` (and \d, \w classes, + * ?
// quantifiers); anything else keeps the longest literal prefix it can prove.
// A repeat count of a pattern ("{3}", "{2,5}"): decimal digits only, read
// saturating at UINT32_MAX, which the node takes as "no bound" (a count that
// large is no bound a generation could reach); nullopt if not a count.
std::optional<uint32_t> repeat_count(std::string_view digits) {
    if (digits.empty()) return std::nullopt;
    uint64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(c - '0'), UINT32_MAX);
    }
    return static_cast<uint32_t>(n);
}

}  // namespace

std::optional<ReducedPattern> reduce_pattern(const std::string& s) {
    if (s.empty() || s[0] != '^') return std::nullopt;
    ReducedPattern r;
    const std::string special = ".^$*+?()[]{}|\\";
    size_t i = 1;
    while (i < s.size()) {
        char c = s[i];
        size_t next = i + 1;
        if (c == '\\' && i + 1 < s.size() && std::ispunct(static_cast<unsigned char>(s[i + 1]))) {
            c = s[i + 1];
            next = i + 2;
        } else if (special.find(c) != std::string::npos ||
                   !allowed_in_pattern(static_cast<unsigned char>(c))) {
            break;
        }
        // A quantifier makes this character optional or repeated: stop before it.
        if (next < s.size() && std::string("*+?{").find(s[next]) != std::string::npos) break;
        if (!allowed_in_pattern(static_cast<unsigned char>(c))) break;
        r.pattern.prefix += c;
        i = next;
    }
    if (i == s.size()) {
        r.exact = true;
        return r;
    }
    if (s[i] == '$' && i + 1 == s.size()) {
        r.pattern.has_class = true;  // empty class: nothing after the prefix
        r.max_class = 0;
        r.exact = true;
        return r;
    }
    StringPattern with_class = r.pattern;
    bool lossy = false;
    size_t j = i;
    if (!parse_class(s, j, with_class, lossy)) return r;
    uint32_t lo = 1, hi = 1;
    if (j < s.size()) {
        if (s[j] == '+') {
            lo = 1, hi = UINT32_MAX, ++j;
        } else if (s[j] == '*') {
            lo = 0, hi = UINT32_MAX, ++j;
        } else if (s[j] == '?') {
            lo = 0, hi = 1, ++j;
        } else if (s[j] == '{') {
            const size_t close = s.find('}', j);
            if (close == std::string::npos) return r;
            const std::string body = s.substr(j + 1, close - j - 1);
            const size_t comma = body.find(',');
            const auto first = repeat_count(std::string_view(body).substr(0, comma));
            if (!first) return r;
            lo = *first;
            if (comma == std::string::npos) {
                hi = lo;
            } else if (comma + 1 == body.size()) {
                hi = UINT32_MAX;
            } else {
                const auto second = repeat_count(std::string_view(body).substr(comma + 1));
                if (!second) return r;
                hi = *second;
            }
            if (hi < lo) return r;
            j = close + 1;
        }
    }
    if (j + 1 != s.size() || s[j] != '$') return r;  // more after the class: keep the prefix
    with_class.has_class = true;
    r.pattern = with_class;
    r.min_class = lo;
    r.max_class = hi;
    r.exact = !lossy;
    return r;
}

}  // namespace pensieve::grammar
