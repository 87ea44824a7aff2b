// Request JSON -> Value, and Python-json.dumps-compatible serialization. See json_io.hpp.
#include "chat/json_io.hpp"

#include <algorithm>

#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/ops.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

Value from_json(const nlohmann::ordered_json& j, std::size_t max_depth) {
    using T = nlohmann::ordered_json::value_t;
    switch (j.type()) {
        case T::null:
            return Value::none();
        case T::boolean:
            return Value::boolean(j.get<bool>());
        case T::number_integer:
            return Value::integer(j.get<int64_t>());
        case T::number_unsigned: {
            const auto u = j.get<uint64_t>();
            // Python would keep a big int; beyond int64 we can only offer the float.
            if (u > static_cast<uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
            return Value::integer(static_cast<int64_t>(u));
        }
        case T::number_float:
            return Value::number(j.get<double>());
        case T::string:
            return Value::client_string(j.get<std::string>());
        case T::array: {
            if (max_depth == 0) throw TemplateLimitError("input JSON nesting too deep");
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json(e, max_depth - 1));
            return Value::list(std::move(items));
        }
        case T::object: {
            if (max_depth == 0) throw TemplateLimitError("input JSON nesting too deep");
            auto d = std::make_shared<DictData>();
            for (const auto& [k, v] : j.items())
                d->set(Value::client_string(k), from_json(v, max_depth - 1));
            return Value::dict(std::move(d));
        }
        default:
            throw TemplateRenderError("unsupported JSON value (binary or discarded)");
    }
}

namespace {

struct Writer {
    const JsonDumpOptions& opt;
    std::size_t max_bytes;
    const Interpreter* render;
    std::string item_sep;
    std::string out;
    ClientRanges client;

    // Checked after each item and before each indentation (a wide indent times the
    // nesting level), so the text overshoots by at most one item.
    void check_size(std::size_t more = 0) const {
        if (out.size() + more > max_bytes) throw TemplateLimitError("tojson result too large");
        if (render) render->tick();
    }

    // A JSON string literal; quotes and escapes included, it is client text when any
    // byte of `v` is.
    void string(const Value& v) {
        const std::size_t start = out.size();
        string(v.str());
        if (!v.client_ranges().empty()) client.add(start, out.size());
    }

    void string(std::string_view s) {
        static const char* hex = "0123456789abcdef";
        out += '"';
        for (std::size_t pos = 0; pos < s.size();) {
            check_size();  // escapes make a string up to six times longer
            const std::size_t start = pos;
            const char32_t cp = pystr::decode(s, pos);
            switch (cp) {
                case '"':
                    out += "\\\"";
                    continue;
                case '\\':
                    out += "\\\\";
                    continue;
                case '\n':
                    out += "\\n";
                    continue;
                case '\r':
                    out += "\\r";
                    continue;
                case '\t':
                    out += "\\t";
                    continue;
                case '\b':
                    out += "\\b";
                    continue;
                case '\f':
                    out += "\\f";
                    continue;
                default:
                    break;
            }
            const bool escape = cp < 0x20 || (opt.ensure_ascii && cp >= 0x7F);
            if (!escape) {
                out.append(s.substr(start, pos - start));
                continue;
            }
            auto u16 = [&](char32_t unit) {
                out += "\\u";
                for (int shift = 12; shift >= 0; shift -= 4) out += hex[(unit >> shift) & 0xF];
            };
            if (cp >= 0x10000) {
                const char32_t v = cp - 0x10000;
                u16(0xD800 + (v >> 10));
                u16(0xDC00 + (v & 0x3FF));
            } else {
                u16(cp);
            }
        }
        out += '"';
    }

    void newline(std::size_t level) {
        if (!opt.indent) return;
        check_size(1 + level * opt.indent->size());
        out += '\n';
        for (std::size_t i = 0; i < level; ++i) out += *opt.indent;
    }

    std::string key_text(const Value& k) {
        switch (k.kind()) {
            case Value::Kind::String:
                return k.str();
            case Value::Kind::Bool:
                return k.as_bool() ? "true" : "false";
            case Value::Kind::None:
                return "null";
            case Value::Kind::Int:
                return std::to_string(k.as_int());
            case Value::Kind::Float:
                return float_repr(k.as_double());
            default:
                throw TemplateRenderError("keys must be str, int, float, bool or None, not " +
                                          type_name(k));
        }
    }

    void value(const Value& v, std::size_t level, std::size_t depth) {
        switch (v.kind()) {
            case Value::Kind::None:
                out += "null";
                return;
            case Value::Kind::Bool:
                out += v.as_bool() ? "true" : "false";
                return;
            case Value::Kind::Int:
                out += std::to_string(v.as_int());
                return;
            case Value::Kind::Float: {
                const double d = v.as_double();
                if (std::isnan(d))
                    out += "NaN";
                else if (std::isinf(d))
                    out += d > 0 ? "Infinity" : "-Infinity";
                else
                    out += float_repr(d);
                return;
            }
            case Value::Kind::String:
                string(v);
                return;
            case Value::Kind::List:
                if (v.list().kind != SeqKind::Iterator) {
                    if (depth == 0) throw TemplateLimitError("value nesting too deep for tojson");
                    const auto& items = v.list().items;
                    if (items.empty()) {
                        out += "[]";
                        return;
                    }
                    out += '[';
                    for (std::size_t i = 0; i < items.size(); ++i) {
                        if (i) out += item_sep;
                        newline(level + 1);
                        value(items[i], level + 1, depth - 1);
                        check_size();
                    }
                    newline(level);
                    out += ']';
                    return;
                }
                break;
            case Value::Kind::Dict: {
                if (depth == 0) throw TemplateLimitError("value nesting too deep for tojson");
                std::vector<const std::pair<Value, Value>*> entries;
                for (const auto& kv : v.dict().items()) entries.push_back(&kv);
                if (entries.empty()) {
                    out += "{}";
                    return;
                }
                if (opt.sort_keys) {
                    std::stable_sort(entries.begin(), entries.end(), [&](auto* a, auto* b) {
                        return order(a->first, b->first, Limits{}.max_value_depth, render) < 0;
                    });
                }
                out += '{';
                for (std::size_t i = 0; i < entries.size(); ++i) {
                    if (i) out += item_sep;
                    newline(level + 1);
                    if (entries[i]->first.is_string())
                        string(entries[i]->first);
                    else
                        string(key_text(entries[i]->first));
                    out += opt.key_separator;
                    value(entries[i]->second, level + 1, depth - 1);
                    check_size();
                }
                newline(level);
                out += '}';
                return;
            }
            default:
                break;
        }
        if (v.is_undefined()) fail_undefined(v);
        throw TemplateRenderError("Object of type " + type_name(v) + " is not JSON serializable");
    }
};

}  // namespace

TrackedText to_json_tracked(const Value& v, const JsonDumpOptions& options, std::size_t max_depth,
                            std::size_t max_bytes, const Interpreter* render) {
    Writer w{options, max_bytes,
             render,  options.item_separator.value_or(options.indent ? "," : ", "),
             {},      {}};
    w.value(v, 0, max_depth);
    return TrackedText{std::move(w.out), std::move(w.client)};
}

std::string to_json(const Value& v, const JsonDumpOptions& options, std::size_t max_depth,
                    std::size_t max_bytes) {
    return to_json_tracked(v, options, max_depth, max_bytes).text;
}

}  // namespace pensieve::chat
