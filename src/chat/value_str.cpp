// Python str() / repr() of template values: what `{{ x }}` prints. Lists and dicts
// print as Python literals (templates that do not expect list content print that).
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "chat/error.hpp"
#include "chat/ops.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, as Python's repr, then Python's layout rules.
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
    std::string out;
    if (sci.front() == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    const std::size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e)) {
        if (c != '.') digits += c;
    }
    const int exp10 = std::atoi(std::string(sci.substr(e + 1)).c_str());
    const int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
    const int n = static_cast<int>(digits.size());
    if (decpt > 16 || decpt <= -4) {
        out += digits[0];
        if (n > 1) {
            out += '.';
            out.append(digits, 1);
        }
        out += 'e';
        out += exp10 < 0 ? '-' : '+';
        const int mag = std::abs(exp10);
        if (mag < 10) out += '0';
        out += std::to_string(mag);
    } else if (decpt <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-decpt), '0');
        out += digits;
    } else if (decpt >= n) {
        out += digits;
        out.append(static_cast<std::size_t>(decpt - n), '0');
        out += ".0";
    } else {
        out.append(digits, 0, static_cast<std::size_t>(decpt));
        out += '.';
        out.append(digits, static_cast<std::size_t>(decpt));
    }
    return out;
}

namespace {

void append_repr(TrackedText& out, const Value& v, std::size_t depth, std::size_t max_bytes);

void check_depth(std::size_t depth) {
    if (depth == 0) throw TemplateLimitError("value nesting too deep to print");
}

// Checked after each item, so the text overshoots by at most one item's repr.
void check_size(const TrackedText& out, std::size_t max_bytes) {
    if (out.size() > max_bytes) throw TemplateLimitError("printed value exceeds the size limit");
}

void append_container(TrackedText& out, const Value& v, std::size_t depth, std::size_t max_bytes) {
    check_depth(depth);
    if (v.is_list()) {
        const auto& data = v.list();
        if (data.kind == SeqKind::Iterator) {
            out.append("<generator object>");
            return;
        }
        const bool tuple = data.kind == SeqKind::Tuple;
        out.append(tuple ? "(" : "[");
        for (std::size_t i = 0; i < data.items.size(); ++i) {
            if (i) out.append(", ");
            append_repr(out, data.items[i], depth - 1, max_bytes);
            check_size(out, max_bytes);
        }
        if (tuple && data.items.size() == 1) out.append(",");
        out.append(tuple ? ")" : "]");
        return;
    }
    out.append("{");
    bool first = true;
    for (const auto& [k, val] : v.dict().items()) {
        if (!first) out.append(", ");
        first = false;
        append_repr(out, k, depth - 1, max_bytes);
        out.append(": ");
        append_repr(out, val, depth - 1, max_bytes);
        check_size(out, max_bytes);
    }
    out.append("}");
}

void append_repr(TrackedText& out, const Value& v, std::size_t depth, std::size_t max_bytes) {
    switch (v.kind()) {
        case Value::Kind::String:
            // Escaping moves bytes around: the quoted form is client text if any byte was.
            out.append_derived(pystr::repr(v.str(), max_bytes), v);
            break;
        case Value::Kind::Undefined:
            out.append("Undefined");
            break;
        case Value::Kind::List:
        case Value::Kind::Dict:
            append_container(out, v, depth, max_bytes);
            break;
        case Value::Kind::Object:
            out.append(v.object().repr());
            break;
        default:
            append_str(out, v, depth, max_bytes);
            break;
    }
}

}  // namespace

void append_str(TrackedText& out, const Value& v, std::size_t max_depth, std::size_t max_bytes) {
    switch (v.kind()) {
        case Value::Kind::Undefined:
            break;
        case Value::Kind::None:
            out.append("None");
            break;
        case Value::Kind::Bool:
            out.append(v.as_bool() ? "True" : "False");
            break;
        case Value::Kind::Int:
            out.append(std::to_string(v.as_int()));
            break;
        case Value::Kind::Float:
            out.append(float_repr(v.as_double()));
            break;
        case Value::Kind::String:
            out.append(v);
            break;
        case Value::Kind::List:
        case Value::Kind::Dict:
            append_container(out, v, max_depth, max_bytes);
            break;
        case Value::Kind::Object:
            out.append(v.object().repr());
            break;
    }
}

Value str_of(const Value& v, std::size_t max_depth, std::size_t max_bytes) {
    if (v.is_string()) return v;
    TrackedText out;
    append_str(out, v, max_depth, max_bytes);
    return Value::string(std::move(out));
}

std::string to_str(const Value& v, std::size_t max_depth, std::size_t max_bytes) {
    if (v.is_string()) return v.str();
    TrackedText out;
    append_str(out, v, max_depth, max_bytes);
    return std::move(out.text);
}

std::string to_repr(const Value& v, std::size_t max_depth, std::size_t max_bytes) {
    TrackedText out;
    append_repr(out, v, max_depth, max_bytes);
    return std::move(out.text);
}

}  // namespace pensieve::chat
