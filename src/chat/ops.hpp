// Python semantics of the operations templates apply to values: truthiness, equality,
// ordering, arithmetic, str()/repr(), len(), iteration, attribute and item access.
#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chat/limits.hpp"
#include "chat/value.hpp"

namespace pensieve::chat {

enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
enum class CompareOp : uint8_t { Eq, Ne, Lt, Le, Gt, Ge };

bool truthy(const Value& v);
// Python's comparison of two numbers (bool, int, float): exact between int and float
// (2**53 + 1 != 2.0**53); unordered when either is NaN.
std::partial_ordering compare_numbers(const Value& a, const Value& b);
// Comparisons. `max_depth` bounds recursion through nested lists and dicts; `render`,
// when given, has its deadline checked as items are compared (comparing two lists of a
// million long strings is one expression that takes hours). Both: TemplateLimitError.
bool values_equal(const Value& a, const Value& b, std::size_t max_depth = 256,
                  const Interpreter* render = nullptr);
// Throws on unorderable types.
bool compare(CompareOp op, const Value& a, const Value& b, const Interpreter* render = nullptr);
// Three-way ordering for sort/min/max (throws on unorderable types).
int order(const Value& a, const Value& b, std::size_t max_depth = 256,
          const Interpreter* render = nullptr);

// `max_bytes` caps strings and lists that * and + can build (hostile `'x' * 10**12`).
Value binary(BinaryOp op, const Value& a, const Value& b, std::size_t max_bytes);
Value negate(const Value& v);
// `item in container`
bool contains(const Value& container, const Value& item, const Interpreter* render = nullptr);

// Python str() and repr(); Undefined prints as "" (jinja2's default Undefined).
// `depth` bounds recursion through nested containers (cycles through namespaces);
// `max_bytes` the text printing a container may build (TemplateLimitError past it).
// append_str and str_of keep client text marked (a client string inside a printed list
// stays client text); to_str and to_repr give the bare text, for messages and lookups.
std::string to_str(const Value& v, std::size_t max_depth = 256,
                   std::size_t max_bytes = Limits{}.max_output_bytes);
Value str_of(const Value& v, std::size_t max_depth = 256,
             std::size_t max_bytes = Limits{}.max_output_bytes);
void append_str(TrackedText& out, const Value& v, std::size_t max_depth = 256,
                std::size_t max_bytes = Limits{}.max_output_bytes);
std::string to_repr(const Value& v, std::size_t max_depth = 256,
                    std::size_t max_bytes = Limits{}.max_output_bytes);
std::string float_repr(double d);       // Python float.__repr__
std::string type_name(const Value& v);  // Python type name, for error messages

// len(); throws TypeError-like errors for values without a length.
std::size_t length(const Value& v);
// Materializes iteration: str -> code points, dict -> keys, Undefined -> empty. A str
// of more code points than a list may hold items is a TemplateLimitError.
std::vector<Value> iterate(const Value& v, std::size_t max_bytes);

// The most items a list a template builds may hold: its item array within the byte
// bound of one string (Limits::max_output_bytes), as for `list * n`.
std::size_t max_list_items(std::size_t max_bytes);
// TemplateLimitError ("<what> exceeds the size limit") past max_list_items(max_bytes).
void check_list_items(std::size_t items, std::size_t max_bytes, std::string_view what);

// jinja2's environment.getattr (obj.name) and getitem (obj[key]); both return
// Undefined when missing and throw when `obj` is itself Undefined.
Value get_attr(const Value& obj, std::string_view name);
Value get_item(const Value& obj, const Value& key);
// `render`, when given, has its deadline checked as a stepped slice picks its items.
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step,
            const Interpreter* render = nullptr);

// Bytes [begin, end) of a str Value, keeping which of them are client text.
Value substring(const Value& str, std::size_t begin, std::size_t end);
// A list or tuple (not a one-pass iterator): what indexing, slicing and sequence
// comparison take.
bool is_sequence(const Value& v);

// Throws jinja2's UndefinedError for an Undefined used where jinja2 raises.
[[noreturn]] void fail_undefined(const Value& v);

}  // namespace pensieve::chat
