// jinja2's builtin filters (jinja2/filters.py) with transformers' tojson. Filters that
// jinja2 returns as generators (map, select, reverse...) produce SeqKind::Iterator lists
// so that truthiness and len() behave as they do in Python.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "chat/builtins.hpp"
#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/json_io.hpp"
#include "chat/methods.hpp"
#include "chat/ops.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

namespace {

using Args = CallArgs;

const Value* arg(const Args& a, std::size_t pos, std::string_view name) {
    return a.get(pos, name);
}

bool flag(const Args& a, std::size_t pos, std::string_view name, bool dflt = false) {
    const Value* v = arg(a, pos, name);
    return v ? truthy(*v) : dflt;
}

// An integer argument; Value::as_int() of any other kind is meaningless.
int64_t int_value(const Value& v, std::string_view what) {
    if (!v.is_integral()) {
        throw TemplateRenderError(std::string(what) + ": an integer is required, not '" +
                                  type_name(v) + "'");
    }
    return v.as_int();
}

// Indentation given as a count of spaces (indent, tojson): a width past the
// output limit is a limit error rather than an allocation that size.
std::string spaces(const Value& width, std::string_view what, const Interpreter& in) {
    const int64_t n = std::max<int64_t>(0, int_value(width, what));
    if (static_cast<uint64_t>(n) > in.limits().max_output_bytes) {
        throw TemplateLimitError(std::string(what) + " too large");
    }
    return std::string(static_cast<std::size_t>(n), ' ');
}

Value str_value(const Value& v, const Interpreter& in) {
    return str_of(v, in.limits().max_value_depth, in.limits().max_output_bytes);
}

// What iterating `v` yields (a str's characters within the list size bound).
std::vector<Value> items_of(const Value& v, const Interpreter& in) {
    return iterate(v, in.limits().max_output_bytes);
}

// A string computed from `source` by an untracked transform (case, escaping): client
// text as a whole if any byte of `source` was.
Value derived(std::string text, const Value& source) {
    TrackedText out;
    out.append_derived(text, source);
    return Value::string(std::move(out));
}

// jinja2's make_attrgetter: "a.b.0" looks up item "a", then "b", then index 0. The
// parts are visited in place: '.' * 60000000 once became 60 million strings per item.
Value attr_path(const Value& item, const Value& attribute) {
    if (!attribute.is_string()) return get_item(item, attribute);
    const std::string_view path = attribute.str();
    Value cur = item;
    for (std::size_t begin = 0;;) {
        const std::size_t dot = std::min(path.find('.', begin), path.size());
        const std::string_view part = path.substr(begin, dot - begin);
        const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
            return c >= '0' && c <= '9';
        });
        int64_t index = 0;
        if (!digits) {
            cur = get_item(cur, Value::string(std::string(part)));
        } else if (std::from_chars(part.data(), part.data() + part.size(), index).ec ==
                   std::errc()) {
            cur = get_item(cur, Value::integer(index));
        } else {
            // Past int64: no list is that long and no dict key that large.
            if (cur.is_undefined()) fail_undefined(cur);
            cur = Value::undefined("'" + type_name(cur) + " object' has no element " +
                                   std::string(part));
        }
        if (dot == path.size()) return cur;
        begin = dot + 1;
    }
}

// Sort / unique key: strings lowered unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return Value::string(pystr::lower(v.str()));
    return v;
}

Value f_abs(Interpreter&, const Value& v, Args&) {
    if (v.is_float()) return Value::number(std::fabs(v.as_double()));
    if (v.is_integral()) {
        if (v.as_int() == INT64_MIN) throw TemplateRenderError("integer overflow");
        return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
    }
    if (v.is_undefined()) fail_undefined(v);
    throw TemplateRenderError("bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_attr(Interpreter&, const Value& v, Args& a) {
    const Value* name = arg(a, 0, "name");
    if (!name || !name->is_string()) throw TemplateRenderError("attr filter needs a name");
    // Python getattr only: unlike `v.name`, no fallback to dict keys.
    if (v.is_object() || v.is_undefined()) return get_attr(v, name->str());
    if ((v.is_string() || v.is_list() || v.is_dict()) && is_attribute(v, name->str())) {
        return get_attr(v, name->str());
    }
    return Value::undefined("'" + type_name(v) + " object' has no attribute '" + name->str() + "'");
}

Value f_capitalize(Interpreter& in, const Value& v, Args&) {
    const Value s = str_value(v, in);
    return derived(pystr::capitalize(s.str()), s);
}

Value f_default(Interpreter&, const Value& v, Args& a) {
    const bool boolean = flag(a, 1, "boolean");
    if (v.is_undefined() || (boolean && !truthy(v))) {
        const Value* d = arg(a, 0, "default_value");
        return d ? *d : Value::string("");
    }
    return v;
}

Value f_dictsort(Interpreter& in, const Value& v, Args& a) {
    if (!v.is_dict()) throw TemplateRenderError("You can only sort by either \"key\" or \"value\"");
    const bool case_sensitive = flag(a, 0, "case_sensitive");
    const Value* by = arg(a, 1, "by");
    const bool by_value = by && by->is_string() && by->str() == "value";
    if (by && !(by->is_string() && (by->str() == "key" || by->str() == "value"))) {
        throw TemplateRenderError("You can only sort by either \"key\" or \"value\"");
    }
    const bool reverse = flag(a, 2, "reverse");
    std::vector<Value> items;
    for (const auto& [k, val] : v.dict().items())
        items.push_back(Value::list({k, val}, SeqKind::Tuple));
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        in.check_deadline();  // each comparison may lower two long strings
        const auto i = by_value ? 1 : 0;
        const int c =
            order(sort_key(x.list().items[i], case_sensitive),
                  sort_key(y.list().items[i], case_sensitive), in.limits().max_value_depth, &in);
        return reverse ? c > 0 : c < 0;
    });
    return Value::list(std::move(items));
}

Value f_escape(Interpreter& in, const Value& v, Args&) {
    const Value source = str_value(v, in);
    const std::string& s = source.str();
    const std::size_t max_bytes = in.limits().max_output_bytes;
    std::string out;
    for (char c : s) {
        // Up to five bytes per byte: checked as it grows, not once 300 MB are built.
        if (out.size() > max_bytes) throw TemplateLimitError("escape result too large");
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    if (out.size() > max_bytes) throw TemplateLimitError("escape result too large");
    return derived(std::move(out), source);
}

Value f_first(Interpreter& in, const Value& v, Args&) {
    if (v.is_list() && !v.list().items.empty()) return v.list().items.front();
    const auto items = items_of(v, in);
    if (items.empty()) return Value::undefined("No first item, sequence was empty.");
    return items.front();
}

Value f_last(Interpreter& in, const Value& v, Args&) {
    if (v.is_list() && v.list().kind == SeqKind::Iterator) {
        throw TemplateRenderError("'generator' object is not reversible");
    }
    const auto items = items_of(v, in);
    if (items.empty()) return Value::undefined("No last item, sequence was empty.");
    return items.back();
}

bool parse_python_float(const std::string& text, double& out) {
    const std::string s = pystr::strip(text, true, true);
    std::string clean;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_' && i > 0 && i + 1 < s.size() &&
            std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
            continue;
        }
        clean += s[i];
    }
    if (clean.empty() || clean.find_first_of("xXpP") != std::string::npos) return false;
    char* end = nullptr;
    out = std::strtod(clean.c_str(), &end);
    return end == clean.c_str() + clean.size();
}

Value f_float(Interpreter&, const Value& v, Args& a) {
    const Value* d = arg(a, 0, "default");
    const Value fallback = d ? *d : Value::number(0.0);
    if (v.is_number()) return Value::number(v.as_double());
    double x = 0;
    if (v.is_string() && parse_python_float(v.str(), x)) return Value::number(x);
    return fallback;
}

Value f_int(Interpreter&, const Value& v, Args& a) {
    const Value* d = arg(a, 0, "default");
    const Value fallback = d ? *d : Value::integer(0);
    const Value* base_v = arg(a, 1, "base");
    const int base = base_v && base_v->is_integral() ? static_cast<int>(base_v->as_int()) : 10;
    if (v.is_integral()) return Value::integer(v.as_int());
    if (v.is_float()) {
        const double x = v.as_double();
        if (!std::isfinite(x) || std::fabs(x) >= 9.2e18) return fallback;
        return Value::integer(static_cast<int64_t>(x));
    }
    if (v.is_string()) {
        std::string s = pystr::strip(v.str(), true, true);
        s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
        if (!s.empty()) {
            errno = 0;
            char* end = nullptr;
            const long long r = std::strtoll(s.c_str(), &end, base);
            if (errno == 0 && end == s.c_str() + s.size()) return Value::integer(r);
            double x = 0;  // jinja2: "42.23"|int == 42
            if (parse_python_float(v.str(), x) && std::isfinite(x) && std::fabs(x) < 9.2e18) {
                return Value::integer(static_cast<int64_t>(x));
            }
        }
    }
    return fallback;
}

Value f_indent(Interpreter& in, const Value& v, Args& a) {
    const Value source = str_value(v, in);
    const Value* w = arg(a, 0, "width");
    const Value pad = w && w->is_string()
                          ? *w
                          : Value::string(w ? spaces(*w, "indent width", in) : std::string(4, ' '));
    const bool first = flag(a, 1, "first");
    const bool blank = flag(a, 2, "blank");
    // jinja2 splits `s + "\n"` so that a trailing line break leaves an empty last line.
    // Those are the lines of `s` plus an empty one when `s` is empty or ends in a break
    // other than "\r" (which the added "\n" would join into one "\r\n").
    const std::string& s = source.str();
    const std::size_t max_lines = max_list_items(in.limits().max_output_bytes);
    auto lines = pystr::splitlines_spans(s, false, max_lines);
    if (lines.size() > max_lines) throw TemplateLimitError("indent: too many lines");
    if ((lines.empty() || lines.back().end != s.size()) && (s.empty() || s.back() != '\r')) {
        lines.push_back({s.size(), s.size()});
    }
    TrackedText out;
    if (first) out.append(pad);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i) {
            out.append("\n");
            if (blank || lines[i].begin != lines[i].end) out.append(pad);
        }
        out.append_part(source, lines[i].begin, lines[i].end);
        if (out.size() > in.limits().max_output_bytes)
            throw TemplateLimitError("indent result too large");
    }
    return Value::string(std::move(out));
}

Value f_items(Interpreter&, const Value& v, Args&) {
    if (v.is_undefined()) return Value::list({}, SeqKind::Iterator);
    if (!v.is_dict()) throw TemplateRenderError("Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (const auto& [k, val] : v.dict().items())
        out.push_back(Value::list({k, val}, SeqKind::Tuple));
    return Value::list(std::move(out), SeqKind::Iterator);
}

Value f_join(Interpreter& in, const Value& v, Args& a) {
    const Value* d = arg(a, 0, "d");
    const Value sep = d ? str_value(*d, in) : Value::string("");
    const Value* attribute = arg(a, 1, "attribute");
    TrackedText out;
    bool first = true;
    for (const auto& item : items_of(v, in)) {
        in.check_deadline();
        if (!first) out.append(sep);
        first = false;
        append_str(out, attribute ? attr_path(item, *attribute) : item, in.limits().max_value_depth,
                   in.limits().max_output_bytes);
        if (out.size() > in.limits().max_output_bytes)
            throw TemplateLimitError("join result too large");
    }
    return Value::string(std::move(out));
}

Value f_length(Interpreter&, const Value& v, Args&) {
    return Value::integer(static_cast<int64_t>(length(v)));
}

Value f_list(Interpreter& in, const Value& v, Args&) {
    return Value::list(items_of(v, in));
}

Value f_lower(Interpreter& in, const Value& v, Args&) {
    const Value s = str_value(v, in);
    return derived(pystr::lower(s.str()), s);
}
Value f_upper(Interpreter& in, const Value& v, Args&) {
    const Value s = str_value(v, in);
    return derived(pystr::upper(s.str()), s);
}
Value f_title(Interpreter& in, const Value& v, Args&) {
    const Value s = str_value(v, in);
    return derived(pystr::jinja_title(s.str()), s);
}

Value f_map(Interpreter& in, const Value& v, Args& a) {
    std::vector<Value> out;
    const auto items = items_of(v, in);
    if (a.args.empty()) {
        const Value* attribute = arg(a, 99, "attribute");
        if (!attribute) return Value::list(items, SeqKind::Iterator);
        const Value* dflt = arg(a, 99, "default");
        for (const auto& item : items) {
            Value r = attr_path(item, *attribute);
            out.push_back(dflt && r.is_undefined() ? *dflt : r);
        }
        return Value::list(std::move(out), SeqKind::Iterator);
    }
    if (!a.args[0].is_string()) throw TemplateRenderError("map filter name must be a string");
    FilterFn fn = find_filter(a.args[0].str());
    if (!fn) throw TemplateRenderError("No filter named '" + a.args[0].str() + "'.");
    Args rest;
    rest.args.assign(a.args.begin() + 1, a.args.end());
    rest.kwargs = a.kwargs;
    for (const auto& item : items) {
        in.check_deadline();
        out.push_back(fn(in, item, rest));
    }
    return Value::list(std::move(out), SeqKind::Iterator);
}

// select / reject / selectattr / rejectattr share jinja2's select_or_reject.
Value select_or_reject(Interpreter& in, const Value& v, Args& a, bool lookup_attr, bool keep_if) {
    std::size_t next = 0;
    Value attribute;
    if (lookup_attr) {
        if (a.args.empty()) throw TemplateRenderError("Missing parameter for attribute name");
        attribute = a.args[next++];
    }
    TestFn test = nullptr;
    Args rest;
    if (next < a.args.size()) {
        if (!a.args[next].is_string()) throw TemplateRenderError("test name must be a string");
        test = find_test(a.args[next].str());
        if (!test) throw TemplateRenderError("No test named '" + a.args[next].str() + "'.");
        rest.args.assign(a.args.begin() + static_cast<std::ptrdiff_t>(next + 1), a.args.end());
        rest.kwargs = a.kwargs;
    }
    std::vector<Value> out;
    for (const auto& item : items_of(v, in)) {
        in.check_deadline();
        const Value probe = lookup_attr ? attr_path(item, attribute) : item;
        const bool hit = test ? test(in, probe, rest) : truthy(probe);
        if (hit == keep_if) out.push_back(item);
    }
    return Value::list(std::move(out), SeqKind::Iterator);
}

Value f_select(Interpreter& in, const Value& v, Args& a) {
    return select_or_reject(in, v, a, false, true);
}
Value f_reject(Interpreter& in, const Value& v, Args& a) {
    return select_or_reject(in, v, a, false, false);
}
Value f_selectattr(Interpreter& in, const Value& v, Args& a) {
    return select_or_reject(in, v, a, true, true);
}
Value f_rejectattr(Interpreter& in, const Value& v, Args& a) {
    return select_or_reject(in, v, a, true, false);
}

Value min_max(Interpreter& in, const Value& v, Args& a, bool want_max) {
    const bool case_sensitive = flag(a, 0, "case_sensitive");
    const Value* attribute = arg(a, 1, "attribute");
    const auto items = items_of(v, in);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    const Value* best = &items[0];
    Value best_key = sort_key(attribute ? attr_path(*best, *attribute) : *best, case_sensitive);
    for (std::size_t i = 1; i < items.size(); ++i) {
        in.check_deadline();
        Value key =
            sort_key(attribute ? attr_path(items[i], *attribute) : items[i], case_sensitive);
        const int c = order(key, best_key, in.limits().max_value_depth, &in);
        if (want_max ? c > 0 : c < 0) {
            best = &items[i];
            best_key = std::move(key);
        }
    }
    return *best;
}

Value f_max(Interpreter& in, const Value& v, Args& a) {
    return min_max(in, v, a, true);
}
Value f_min(Interpreter& in, const Value& v, Args& a) {
    return min_max(in, v, a, false);
}

Value f_replace(Interpreter& in, const Value& v, Args& a) {
    const Value* old_v = arg(a, 0, "old");
    const Value* new_v = arg(a, 1, "new");
    if (!old_v || !new_v) throw TemplateRenderError("replace filter needs old and new");
    const Value* count = arg(a, 2, "count");
    return replace_tracked(str_value(v, in), str_value(*old_v, in), str_value(*new_v, in),
                           count && !count->is_none() ? int_value(*count, "replace count") : -1,
                           in);
}

Value f_reverse(Interpreter& in, const Value& v, Args&) {
    if (v.is_string()) {
        // Code points copied from the end, with no table of them (4 bytes per code point).
        const std::string& s = v.str();
        std::string out;
        out.reserve(s.size());
        for (std::size_t end = s.size(); end > 0;) {
            const std::size_t start = pystr::prev_start(s, end);
            out.append(s, start, end - start);
            end = start;
        }
        return derived(std::move(out), v);
    }
    auto items = items_of(v, in);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items), SeqKind::Iterator);
}

Value f_round(Interpreter&, const Value& v, Args& a) {
    const Value* p = arg(a, 0, "precision");
    const int64_t precision = p ? int_value(*p, "round precision") : 0;
    const Value* m = arg(a, 1, "method");
    const std::string method = m ? to_str(*m) : "common";
    if (method != "common" && method != "ceil" && method != "floor") {
        throw TemplateRenderError("method must be common, ceil or floor");
    }
    if (!v.is_number())
        throw TemplateRenderError("type " + type_name(v) + " doesn't define __round__ method");
    if (method == "common" && v.is_integral()) return Value::integer(v.as_int());
    const double x = v.as_double();
    if (method != "common") {
        const double scale = std::pow(10.0, static_cast<double>(precision));
        const double r = method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale);
        return Value::number(r / scale);
    }
    // Python's round(): correctly rounded, ties to even on the exact binary value;
    // printf with the requested digits rounds the same way.
    if (precision < 0 || precision > 300) return Value::number(x);
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
    return Value::number(std::strtod(buf, nullptr));
}

Value f_safe(Interpreter& in, const Value& v, Args&) {
    return str_value(v, in);
}
Value f_string(Interpreter& in, const Value& v, Args&) {
    return str_value(v, in);
}

Value f_sort(Interpreter& in, const Value& v, Args& a) {
    const bool reverse = flag(a, 0, "reverse");
    const bool case_sensitive = flag(a, 1, "case_sensitive");
    const Value* attribute = arg(a, 2, "attribute");
    auto items = items_of(v, in);
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        in.check_deadline();  // each comparison may lower two long strings
        const int c = order(sort_key(attribute ? attr_path(x, *attribute) : x, case_sensitive),
                            sort_key(attribute ? attr_path(y, *attribute) : y, case_sensitive),
                            in.limits().max_value_depth, &in);
        return reverse ? c > 0 : c < 0;
    });
    return Value::list(std::move(items));
}

Value f_sum(Interpreter& in, const Value& v, Args& a) {
    const Value* attribute = arg(a, 0, "attribute");
    const Value* start = arg(a, 1, "start");
    const std::size_t max_bytes = in.limits().max_output_bytes;
    Value total = start ? *start : Value::integer(0);
    if (total.is_string()) {
        // Python's sum() refuses, and adding strings one at a time is quadratic.
        throw TemplateRenderError("sum() can't sum strings [use ''.join(seq) instead]");
    }
    if (total.is_list() && total.list().kind != SeqKind::Iterator) {
        // Lists are concatenated once: adding them one at a time would copy the running
        // total for every item.
        std::vector<Value> items = total.list().items;
        for (const auto& item : items_of(v, in)) {
            in.check_deadline();
            const Value part = attribute ? attr_path(item, *attribute) : item;
            if (!part.is_list() || part.list().kind != total.list().kind) {
                binary(BinaryOp::Add, total, part, max_bytes);  // throws the type error
            }
            check_list_items(items.size() + part.list().items.size(), max_bytes,
                             "list concatenation");
            items.insert(items.end(), part.list().items.begin(), part.list().items.end());
        }
        return Value::list(std::move(items), total.list().kind);
    }
    for (const auto& item : items_of(v, in)) {
        in.check_deadline();
        total =
            binary(BinaryOp::Add, total, attribute ? attr_path(item, *attribute) : item, max_bytes);
    }
    return total;
}

Value f_tojson(Interpreter& in, const Value& v, Args& a) {
    JsonDumpOptions opt;
    bool client_options = false;  // layout strings that came from the client
    const auto option_text = [&](const Value& option) {
        const Value text = str_value(option, in);
        client_options = client_options || !text.client_ranges().empty();
        return text.str();
    };
    opt.ensure_ascii = flag(a, 0, "ensure_ascii");
    if (const Value* indent = arg(a, 1, "indent"); indent && !indent->is_none()) {
        if (indent->is_string())
            opt.indent = option_text(*indent);
        else
            opt.indent = spaces(*indent, "tojson indent", in);
    }
    if (const Value* seps = arg(a, 2, "separators"); seps && !seps->is_none()) {
        const auto parts = items_of(*seps, in);
        if (parts.size() != 2) throw TemplateRenderError("separators must be a (item, key) pair");
        opt.item_separator = option_text(parts[0]);
        opt.key_separator = option_text(parts[1]);
    }
    opt.sort_keys = flag(a, 3, "sort_keys");
    TrackedText json =
        to_json_tracked(v, opt, in.limits().max_value_depth, in.limits().max_output_bytes, &in);
    if (client_options) json.client = ClientRanges::whole(json.text.size());
    return Value::string(std::move(json));
}

Value f_trim(Interpreter& in, const Value& v, Args& a) {
    const Value source = str_value(v, in);
    const Value* chars = arg(a, 0, "chars");
    const ByteRange kept = !chars || chars->is_none()
                               ? pystr::strip_span(source.str(), true, true)
                               : pystr::strip_chars_span(source.str(), to_str(*chars), true, true);
    return substring(source, kept.begin, kept.end);
}

Value f_unique(Interpreter& in, const Value& v, Args& a) {
    const bool case_sensitive = flag(a, 0, "case_sensitive");
    const Value* attribute = arg(a, 1, "attribute");
    // Keys a dict could hold are looked up in order (n log n, as jinja2's set is
    // linear); lists, which Python would refuse, are compared with every earlier list.
    std::set<Value, KeyLess> seen;
    std::vector<Value> seen_unhashable;
    std::vector<Value> out;
    for (const auto& item : items_of(v, in)) {
        in.check_deadline();
        Value key = sort_key(attribute ? attr_path(item, *attribute) : item, case_sensitive);
        bool dup = false;
        switch (classify_key(key)) {
            case KeyClass::Ordered:
                dup = !seen.insert(key).second;
                break;
            case KeyClass::NeverEqual:
                break;
            case KeyClass::Unhashable:
                for (const auto& s : seen_unhashable)
                    dup = dup || values_equal(s, key, in.limits().max_value_depth, &in);
                if (!dup) seen_unhashable.push_back(key);
                break;
        }
        if (!dup) out.push_back(item);
    }
    return Value::list(std::move(out), SeqKind::Iterator);
}

Value f_wordcount(Interpreter& in, const Value& v, Args&) {
    const std::string s = str_value(v, in).str();
    int64_t words = 0;
    bool inside = false;
    for (std::size_t pos = 0; pos < s.size();) {
        const char32_t c = pystr::decode(s, pos);
        const bool word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                          (c >= 'A' && c <= 'Z') || c == '_' || (c >= 0xC0 && !pystr::is_space(c));
        if (word && !inside) ++words;
        inside = word;
    }
    return Value::integer(words);
}

Value f_format(Interpreter& in, const Value& v, Args& a) {
    const Value fmt = str_value(v, in);
    if (!a.kwargs.empty())
        throw TemplateRenderError("format filter with keyword arguments is not supported");
    return binary(BinaryOp::Mod, fmt, Value::list(a.args, SeqKind::Tuple),
                  in.limits().max_output_bytes);
}

struct FilterEntry {
    std::string_view name;
    FilterFn fn;
};

constexpr std::array<FilterEntry, 42> kFilters = {{
    {"abs", f_abs},
    {"attr", f_attr},
    {"capitalize", f_capitalize},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", f_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", f_first},
    {"float", f_float},
    {"forceescape", f_escape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"sort", f_sort},
    {"string", f_string},
    {"sum", f_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"unique", f_unique},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
    {"d", f_default},
}};

constexpr std::array<std::string_view, 13> kUnsupported = {
    "batch",     "center",   "filesizeformat", "groupby", "pprint",   "random", "slice",
    "striptags", "truncate", "urlencode",      "urlize",  "wordwrap", "xmlattr"};

}  // namespace

FilterFn find_filter(std::string_view name) {
    for (const auto& e : kFilters) {
        if (e.name == name) return e.fn;
    }
    return nullptr;
}

bool is_unsupported_filter(std::string_view name) {
    return std::find(kUnsupported.begin(), kUnsupported.end(), name) != kUnsupported.end();
}

}  // namespace pensieve::chat
