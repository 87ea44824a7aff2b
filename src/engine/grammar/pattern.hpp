// What a string schema's `pattern` (a regular expression) is reduced to
// for the grammar: a literal prefix, then optionally a run of characters
// from one ASCII class with repeat bounds (`^abc`, `^[a-z0-9_]{2,8}$`).
// Anything else is kept as far as its literal prefix and reported inexact,
// so the compiler lists the keyword as relaxed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/grammar/grammar.hpp"

namespace pensieve::grammar {

// What part of a `pattern` is enforced; `exact` when all of it.
struct ReducedPattern {
    StringPattern pattern;
    uint32_t min_class = 0, max_class = UINT32_MAX;  // class characters after the prefix
    bool exact = false;
};

std::optional<ReducedPattern> reduce_pattern(const std::string& s);

}  // namespace pensieve::grammar
