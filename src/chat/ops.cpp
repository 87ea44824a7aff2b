// Python semantics for comparisons, arithmetic and containment. See ops.hpp;
// attribute and item access are in access.cpp.
#include "chat/ops.hpp"

#include <cmath>
#include <cstdio>
#include <optional>

#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/methods.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

namespace {

[[noreturn]] void type_error(const std::string& what) {
    throw TemplateRenderError(what);
}

std::string op_symbol(BinaryOp op) {
    switch (op) {
        case BinaryOp::Add:
            return "+";
        case BinaryOp::Sub:
            return "-";
        case BinaryOp::Mul:
            return "*";
        case BinaryOp::Div:
            return "/";
        case BinaryOp::FloorDiv:
            return "//";
        case BinaryOp::Mod:
            return "%";
        case BinaryOp::Pow:
            return "**";
    }
    return "?";
}

[[noreturn]] void unsupported(BinaryOp op, const Value& a, const Value& b) {
    type_error("unsupported operand type(s) for " + op_symbol(op) + ": '" + type_name(a) +
               "' and '" + type_name(b) + "'");
}

void check_overflow(bool overflow) {
    if (overflow) throw TemplateRenderError("integer overflow in template arithmetic");
}

double py_fmod(double a, double b) {
    double r = std::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    if (r == 0) r = std::copysign(0.0, b);
    return r;
}

Value int_arith(BinaryOp op, int64_t x, int64_t y) {
    int64_t r = 0;
    switch (op) {
        case BinaryOp::Add:
            check_overflow(__builtin_add_overflow(x, y, &r));
            return Value::integer(r);
        case BinaryOp::Sub:
            check_overflow(__builtin_sub_overflow(x, y, &r));
            return Value::integer(r);
        case BinaryOp::Mul:
            check_overflow(__builtin_mul_overflow(x, y, &r));
            return Value::integer(r);
        case BinaryOp::Div:
            if (y == 0) type_error("division by zero");
            return Value::number(static_cast<double>(x) / static_cast<double>(y));
        case BinaryOp::FloorDiv:
        case BinaryOp::Mod: {
            if (y == 0) type_error("integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) check_overflow(true);
            int64_t q = x / y;
            int64_t m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                --q;
                m += y;
            }
            return Value::integer(op == BinaryOp::FloorDiv ? q : m);
        }
        case BinaryOp::Pow: {
            if (y < 0) {
                if (x == 0) type_error("0.0 cannot be raised to a negative power");
                return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
            }
            int64_t result = 1;
            int64_t base = x;
            for (int64_t e = y; e > 0; e >>= 1) {
                if (e & 1) check_overflow(__builtin_mul_overflow(result, base, &result));
                if (e > 1) check_overflow(__builtin_mul_overflow(base, base, &base));
            }
            return Value::integer(result);
        }
    }
    return Value();
}

Value float_arith(BinaryOp op, double x, double y) {
    switch (op) {
        case BinaryOp::Add:
            return Value::number(x + y);
        case BinaryOp::Sub:
            return Value::number(x - y);
        case BinaryOp::Mul:
            return Value::number(x * y);
        case BinaryOp::Div:
            if (y == 0) type_error("float division by zero");
            return Value::number(x / y);
        case BinaryOp::FloorDiv:
            if (y == 0) type_error("float floor division by zero");
            {
                // CPython's float_floor_div.
                const double mod = std::fmod(x, y);
                double div = (x - mod) / y;
                if (mod != 0 && ((y < 0) != (mod < 0))) div -= 1.0;
                if (div == 0) return Value::number(std::copysign(0.0, x / y));
                double floored = std::floor(div);
                if (div - floored > 0.5) floored += 1.0;
                return Value::number(floored);
            }
        case BinaryOp::Mod:
            if (y == 0) type_error("float modulo");
            return Value::number(py_fmod(x, y));
        case BinaryOp::Pow:
            if (x == 0 && y < 0) type_error("0.0 cannot be raised to a negative power");
            return Value::number(std::pow(x, y));
    }
    return Value();
}

// `"fmt" % args`: the printf-style subset templates use (%s %r %d %i %f %%). The
// format's own text keeps its ranges; %s brings the argument's.
Value percent_format(const Value& fmt_value, const Value& rhs, std::size_t max_bytes) {
    const std::string& fmt = fmt_value.str();
    std::vector<Value> args;
    if (rhs.is_list() && rhs.list().kind == SeqKind::Tuple) {
        args = rhs.list().items;
    } else {
        args.push_back(rhs);
    }
    TrackedText out;
    std::size_t next = 0;
    std::size_t literal = 0;  // start of the format text not yet copied
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') continue;
        out.append_part(fmt_value, literal, i);
        if (++i >= fmt.size()) type_error("incomplete format");
        literal = i + 1;
        const char spec = fmt[i];
        if (spec == '%') {
            out.append_part(fmt_value, i, i + 1);
            continue;
        }
        if (next >= args.size()) type_error("not enough arguments for format string");
        const Value& a = args[next++];
        if (spec == 's') {
            append_str(out, a, Limits{}.max_value_depth, max_bytes);
        } else if (spec == 'r') {
            const std::size_t depth = Limits{}.max_value_depth;
            out.append_derived(to_repr(a, depth, max_bytes), str_of(a, depth, max_bytes));
        } else if (spec == 'd' || spec == 'i') {
            if (!a.is_number()) type_error("%d format: a real number is required");
            out.append(
                std::to_string(a.is_float() ? static_cast<int64_t>(a.as_double()) : a.as_int()));
        } else if (spec == 'f') {
            if (!a.is_number()) type_error("must be real number");
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.6f", a.as_double());
            out.append(buf);
        } else {
            type_error(std::string("unsupported format character '") + spec + "'");
        }
        if (out.size() > max_bytes) throw TemplateLimitError("% format result too large");
    }
    out.append_part(fmt_value, literal, fmt.size());
    if (next < args.size()) type_error("not all arguments converted during string formatting");
    return Value::string(std::move(out));
}

// The loops run once per copy: an empty operand returns at once ('' * 10**18 would
// otherwise append nothing 10**18 times), and text is doubled rather than appended
// copy by copy ('x' * 60000000 is 26 copies of growing blocks, not 60 million appends).
Value repeat(const Value& seq, int64_t n, std::size_t max_bytes) {
    const bool empty = seq.is_string() ? seq.str().empty() : seq.list().items.empty();
    if (n <= 0 || empty) {
        return seq.is_string() ? Value::string("") : Value::list({}, seq.list().kind);
    }
    const auto copies = static_cast<uint64_t>(n);
    if (seq.is_string()) {
        const std::string& s = seq.str();
        if (copies > max_bytes / s.size()) {
            throw TemplateLimitError("string repetition exceeds the output size limit");
        }
        const std::size_t total = s.size() * static_cast<std::size_t>(copies);
        TrackedText out;
        out.text.reserve(total);
        out.append(seq);
        while (out.size() < total) {
            const std::size_t len = std::min(out.size(), total - out.size());
            const ClientRanges head = out.client.slice(0, len);
            out.client.append_slice(head, 0, len, out.size());
            out.text.append(out.text, 0, len);
        }
        return Value::string(std::move(out));
    }
    const auto& items = seq.list().items;
    if (copies > max_bytes / (items.size() * sizeof(Value))) {
        throw TemplateLimitError("list repetition exceeds the size limit");
    }
    std::vector<Value> out;
    out.reserve(items.size() * static_cast<std::size_t>(copies));
    for (uint64_t i = 0; i < copies; ++i) out.insert(out.end(), items.begin(), items.end());
    return Value::list(std::move(out), seq.list().kind);
}

}  // namespace

bool is_sequence(const Value& v) {
    return v.is_list() && v.list().kind != SeqKind::Iterator;
}

Value substring(const Value& str, std::size_t begin, std::size_t end) {
    return Value::string(str.str().substr(begin, end - begin),
                         str.client_ranges().slice(begin, end));
}

[[noreturn]] void fail_undefined(const Value& v) {
    throw TemplateRenderError(v.undefined_hint());
}

std::string type_name(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined:
            return "Undefined";
        case Value::Kind::None:
            return "NoneType";
        case Value::Kind::Bool:
            return "bool";
        case Value::Kind::Int:
            return "int";
        case Value::Kind::Float:
            return "float";
        case Value::Kind::String:
            return "str";
        case Value::Kind::List:
            return v.list().kind == SeqKind::Tuple  ? "tuple"
                   : v.list().kind == SeqKind::List ? "list"
                                                    : "generator";
        case Value::Kind::Dict:
            return "dict";
        case Value::Kind::Object:
            return v.object().type_name();
    }
    return "object";
}

bool truthy(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined:
        case Value::Kind::None:
            return false;
        case Value::Kind::Bool:
            return v.as_bool();
        case Value::Kind::Int:
            return v.as_int() != 0;
        case Value::Kind::Float:
            return v.as_double() != 0.0;
        case Value::Kind::String:
            return !v.str().empty();
        case Value::Kind::List:
            return v.list().kind == SeqKind::Iterator || !v.list().items.empty();
        case Value::Kind::Dict:
            return v.dict().size() != 0;
        case Value::Kind::Object:
            return true;
    }
    return false;
}

namespace {

// Comparing strings longer than this reads the clock first: ticking every 64th
// comparison would let 64 comparisons of 60 MB strings pass unchecked.
constexpr std::size_t kLongString = 4096;

void check_compare_depth(std::size_t max_depth) {
    if (max_depth == 0) throw TemplateLimitError("values nested too deeply to compare");
}

// Python's sequence comparison: the order of the first items that differ (by ==),
// else of the lengths; nullopt when the sequences are equal. Nested sequences are
// compared in the same pass, so nesting costs the size of the values, not size × depth.
std::optional<int> first_difference(const Value& a, const Value& b, std::size_t max_depth,
                                    const Interpreter* render) {
    check_compare_depth(max_depth);
    if (render) render->tick();
    if (a.identity() == b.identity()) return std::nullopt;
    const auto& x = a.list().items;
    const auto& y = b.list().items;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (is_sequence(x[i]) && is_sequence(y[i]) && x[i].list().kind == y[i].list().kind) {
            if (const auto c = first_difference(x[i], y[i], max_depth - 1, render)) return c;
        } else if (!values_equal(x[i], y[i], max_depth - 1, render)) {
            return order(x[i], y[i], max_depth - 1, render);
        }
    }
    if (x.size() == y.size()) return std::nullopt;
    return x.size() < y.size() ? -1 : 1;
}

}  // namespace

namespace {

std::partial_ordering int_vs_float(int64_t i, double d) {
    if (std::isnan(d)) return std::partial_ordering::unordered;
    if (d >= 0x1p63) return std::partial_ordering::less;  // every int64 is below 2**63
    if (d < -0x1p63) return std::partial_ordering::greater;
    const double whole = std::trunc(d);
    const auto whole_int = static_cast<int64_t>(whole);  // exact: |whole| <= 2**63
    if (i != whole_int) return i <=> whole_int;
    return 0.0 <=> d - whole;  // the fraction decides
}

}  // namespace

std::partial_ordering compare_numbers(const Value& a, const Value& b) {
    if (!a.is_float() && !b.is_float()) return a.as_int() <=> b.as_int();
    if (a.is_float() && b.is_float()) return a.as_double() <=> b.as_double();
    if (b.is_float()) return int_vs_float(a.as_int(), b.as_double());
    return 0 <=> int_vs_float(b.as_int(), a.as_double());
}

bool values_equal(const Value& a, const Value& b, std::size_t max_depth,
                  const Interpreter* render) {
    if (render) render->tick();
    if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Value::Kind::Undefined:
        case Value::Kind::None:
            return true;
        case Value::Kind::String:
            if (a.identity() == b.identity()) return true;
            if (render && a.str().size() > kLongString) render->check_deadline();
            return a.str() == b.str();
        case Value::Kind::List: {
            const auto& x = a.list();
            const auto& y = b.list();
            if (a.identity() == b.identity()) return true;
            if (x.kind == SeqKind::Iterator || y.kind == SeqKind::Iterator) return false;
            if (x.kind != y.kind || x.items.size() != y.items.size()) return false;
            check_compare_depth(max_depth);
            for (std::size_t i = 0; i < x.items.size(); ++i) {
                if (!values_equal(x.items[i], y.items[i], max_depth - 1, render)) return false;
            }
            return true;
        }
        case Value::Kind::Dict: {
            const auto& x = a.dict();
            const auto& y = b.dict();
            if (a.identity() == b.identity()) return true;
            if (x.size() != y.size()) return false;
            check_compare_depth(max_depth);
            for (const auto& [k, v] : x.items()) {
                const Value* other = y.find(k);
                if (!other || !values_equal(v, *other, max_depth - 1, render)) return false;
            }
            return true;
        }
        default:
            return a.identity() == b.identity();
    }
}

int order(const Value& a, const Value& b, std::size_t max_depth, const Interpreter* render) {
    if (render) render->tick();
    if (a.is_number() && b.is_number()) {
        const std::partial_ordering c = compare_numbers(a, b);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);  // NaN sorts as equal to everything
    }
    if (a.is_string() && b.is_string()) {
        if (render && a.str().size() > kLongString) render->check_deadline();
        const int c = a.str().compare(b.str());  // UTF-8 byte order == code point order
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    if (is_sequence(a) && is_sequence(b) && a.list().kind == b.list().kind) {
        return first_difference(a, b, max_depth, render).value_or(0);
    }
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    type_error("'<' not supported between instances of '" + type_name(a) + "' and '" +
               type_name(b) + "'");
}

bool compare(CompareOp op, const Value& a, const Value& b, const Interpreter* render) {
    const std::size_t depth = Limits{}.max_value_depth;
    switch (op) {
        case CompareOp::Eq:
            return values_equal(a, b, depth, render);
        case CompareOp::Ne:
            return !values_equal(a, b, depth, render);
        case CompareOp::Lt:
            return order(a, b, depth, render) < 0;
        case CompareOp::Le:
            return order(a, b, depth, render) <= 0;
        case CompareOp::Gt:
            return order(a, b, depth, render) > 0;
        case CompareOp::Ge:
            return order(a, b, depth, render) >= 0;
    }
    return false;
}

Value binary(BinaryOp op, const Value& a, const Value& b, std::size_t max_bytes) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return float_arith(op, a.as_double(), b.as_double());
        return int_arith(op, a.as_int(), b.as_int());
    }
    if (op == BinaryOp::Add) {
        if (a.is_string() && b.is_string()) {
            if (a.str().size() + b.str().size() > max_bytes) {
                throw TemplateLimitError("string exceeds the output size limit");
            }
            TrackedText s;
            s.text.reserve(a.str().size() + b.str().size());
            s.append(a);
            s.append(b);
            return Value::string(std::move(s));
        }
        if (is_sequence(a) && is_sequence(b) && a.list().kind == b.list().kind) {
            check_list_items(a.list().items.size() + b.list().items.size(), max_bytes,
                             "list concatenation");
            std::vector<Value> items = a.list().items;
            items.insert(items.end(), b.list().items.begin(), b.list().items.end());
            return Value::list(std::move(items), a.list().kind);
        }
    }
    if (op == BinaryOp::Mul) {
        if ((a.is_string() || is_sequence(a)) && b.is_integral())
            return repeat(a, b.as_int(), max_bytes);
        if ((b.is_string() || is_sequence(b)) && a.is_integral())
            return repeat(b, a.as_int(), max_bytes);
    }
    if (op == BinaryOp::Mod && a.is_string()) return percent_format(a, b, max_bytes);
    unsupported(op, a, b);
}

Value negate(const Value& v) {
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_float()) return Value::number(-v.as_double());
    if (v.is_integral()) {
        if (v.as_int() == INT64_MIN) check_overflow(true);
        return Value::integer(-v.as_int());
    }
    type_error("bad operand type for unary -: '" + type_name(v) + "'");
}

bool contains(const Value& container, const Value& item, const Interpreter* render) {
    switch (container.kind()) {
        case Value::Kind::String:
            if (!item.is_string()) {
                if (item.is_undefined()) fail_undefined(item);
                type_error("'in <string>' requires string as left operand, not " + type_name(item));
            }
            return pystr::find_bytes(container.str(), item.str()) != std::string::npos;
        case Value::Kind::List:
            for (const auto& v : container.list().items) {
                if (values_equal(v, item, Limits{}.max_value_depth, render)) return true;
            }
            return false;
        case Value::Kind::Dict:
            return container.dict().find(item) != nullptr;
        case Value::Kind::Undefined:
            return false;  // jinja2's Undefined iterates as empty
        default:
            type_error("argument of type '" + type_name(container) + "' is not iterable");
    }
}

std::size_t length(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::String:
            return pystr::length(v.str());
        case Value::Kind::List:
            if (v.list().kind == SeqKind::Iterator)
                type_error("object of type 'generator' has no len()");
            return v.list().items.size();
        case Value::Kind::Dict:
            return v.dict().size();
        case Value::Kind::Undefined:
            return 0;
        default:
            type_error("object of type '" + type_name(v) + "' has no len()");
    }
}

std::size_t max_list_items(std::size_t max_bytes) {
    return max_bytes / sizeof(Value);
}

void check_list_items(std::size_t items, std::size_t max_bytes, std::string_view what) {
    if (items > max_list_items(max_bytes)) {
        throw TemplateLimitError(std::string(what) + " exceeds the size limit");
    }
}

std::vector<Value> iterate(const Value& v, std::size_t max_bytes) {
    switch (v.kind()) {
        case Value::Kind::List:
            return v.list().items;
        case Value::Kind::Dict: {
            std::vector<Value> keys;
            keys.reserve(v.dict().size());
            for (const auto& kv : v.dict().items()) keys.push_back(kv.first);
            return keys;
        }
        case Value::Kind::String: {
            std::vector<Value> chars;
            const std::string& s = v.str();
            for (std::size_t pos = 0; pos < s.size();) {
                check_list_items(chars.size() + 1, max_bytes, "list of a string's characters");
                const std::size_t start = pos;
                pystr::decode(s, pos);
                chars.push_back(substring(v, start, pos));
            }
            return chars;
        }
        case Value::Kind::Undefined:
            return {};
        default:
            type_error("'" + type_name(v) + "' object is not iterable");
    }
}

}  // namespace pensieve::chat
