// Lookup tables of jinja2's builtin filters and tests (plus transformers' tojson), and
// the global functions a render starts with (range, namespace, raise_exception, ...).
#pragma once

#include <string_view>

#include "chat/ast.hpp"

namespace pensieve::chat {

class DictData;

// nullptr when the name is unknown (a load-time error, as in jinja2).
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);

// True if jinja2 has a filter/test of this name that Pensieve does not implement;
// such templates fail at render time with a clear message, not at load.
bool is_unsupported_filter(std::string_view name);

// Adds range, dict, namespace, cycler, joiner, raise_exception and strftime_now.
void add_globals(DictData& globals);

}  // namespace pensieve::chat
