// Python methods templates call on str, dict and list values (`content.strip()`,
// `message.get('x')`, `text.split('</think>')`...). Methods that would mutate a value
// are refused, as jinja2's ImmutableSandboxedEnvironment refuses them.
#pragma once

#include <string_view>

#include "chat/value.hpp"

namespace pensieve::chat {

// A method Pensieve implements (safe to call).
bool has_method(const Value& self, std::string_view name);
// Any Python attribute of str/dict/list we know, including the refused mutators.
bool is_attribute(const Value& self, std::string_view name);
// `self.name` as a value: a callable, or an Undefined explaining why not.
Value bound_method(const Value& self, std::string_view name);
// str.replace(old, new, count) on str Values: the kept parts of `self` keep their client
// ranges and each inserted `to` brings its own. Throws TemplateLimitError past the output
// bound or the deadline of `render` (a replacement per code point of 60 MB is seconds).
Value replace_tracked(const Value& self, const Value& from, const Value& to, int64_t count,
                      const Interpreter& render);

Value call_method(Interpreter& in, const Value& self, std::string_view name, CallArgs& args);

}  // namespace pensieve::chat
