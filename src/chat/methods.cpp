// str / dict / list methods with Python semantics. See methods.hpp.
#include "chat/methods.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include "chat/error.hpp"
#include "chat/objects.hpp"
#include "chat/ops.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

namespace {

constexpr std::array<std::string_view, 31> kStrMethods = {
    "startswith",   "endswith", "strip",    "lstrip",  "rstrip",  "split",      "rsplit",
    "splitlines",   "replace",  "upper",    "lower",   "title",   "capitalize", "swapcase",
    "find",         "rfind",    "index",    "rindex",  "count",   "join",       "format",
    "isdigit",      "isalpha",  "isalnum",  "isspace", "isupper", "islower",    "removeprefix",
    "removesuffix", "casefold", "isnumeric"};
constexpr std::array<std::string_view, 5> kDictMethods = {"items", "keys", "values", "get", "copy"};
constexpr std::array<std::string_view, 6> kDictMutators = {"pop",    "popitem", "setdefault",
                                                           "update", "clear",   "fromkeys"};
constexpr std::array<std::string_view, 3> kListMethods = {"index", "count", "copy"};
constexpr std::array<std::string_view, 8> kListMutators = {"append", "extend",  "insert", "pop",
                                                           "remove", "reverse", "sort",   "clear"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_mutator(const Value& self, std::string_view name) {
    return (self.is_dict() && in(kDictMutators, name)) ||
           (self.is_list() && self.list().kind == SeqKind::List && in(kListMutators, name));
}

[[noreturn]] void bad_arg(std::string_view method, const std::string& what) {
    throw TemplateRenderError(std::string(method) + "() " + what);
}

const std::string& str_arg(const CallArgs& a, std::size_t pos, std::string_view name,
                           std::string_view method) {
    const Value* v = a.get(pos, name);
    if (!v || !v->is_string()) bad_arg(method, "argument must be str");
    return v->str();
}

int64_t int_arg(const CallArgs& a, std::size_t pos, std::string_view name, int64_t dflt) {
    const Value* v = a.get(pos, name);
    if (!v || v->is_none()) return dflt;
    if (!v->is_integral()) throw TemplateRenderError("an integer is required");
    return v->as_int();
}

// The parts of `self` at `spans`, each with its client ranges.
Value string_list(const Value& self, const std::vector<ByteRange>& spans, std::size_t max_bytes) {
    check_list_items(spans.size(), max_bytes, "split result");
    std::vector<Value> out;
    out.reserve(spans.size());
    for (const ByteRange& r : spans) out.push_back(substring(self, r.begin, r.end));
    return Value::list(std::move(out));
}

bool all_cp(const std::string& s, bool (*pred)(char32_t)) {
    if (s.empty()) return false;
    for (std::size_t pos = 0; pos < s.size();) {
        if (!pred(pystr::decode(s, pos))) return false;
    }
    return true;
}

// "{} {name} {0}".format(...): fields without format specs, plus {{ and }}. The
// format's own text keeps its ranges; each field brings its argument's.
Value py_format(const Value& fmt_value, const CallArgs& args, std::size_t max_bytes) {
    const std::string& fmt = fmt_value.str();
    // Named fields are looked up by name: a scan of the keywords per field is a step
    // of hours for '{z}' * 20000000 with a hundred thousand keywords. The last of
    // repeated keywords wins, as the scan had it.
    std::map<std::string_view, const Value*> named;
    for (const auto& [k, val] : args.kwargs) named[k] = &val;
    TrackedText out;
    std::size_t auto_index = 0;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}')
                ++i;
            else
                throw TemplateRenderError("Single '}' encountered in format string");
            out.append_part(fmt_value, i, i + 1);
            continue;
        }
        if (c != '{') {
            out.append_part(fmt_value, i, i + 1);
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out.append_part(fmt_value, i, i + 1);
            ++i;
            continue;
        }
        const std::size_t close = fmt.find('}', i);
        if (close == std::string::npos)
            throw TemplateRenderError("expected '}' before end of string");
        std::string field = fmt.substr(i + 1, close - i - 1);
        std::string spec;
        if (auto colon = field.find(':'); colon != std::string::npos) {
            spec = field.substr(colon + 1);
            field.resize(colon);
        }
        bool repr = false;
        if (field.size() >= 2 && field[field.size() - 2] == '!') {
            repr = field.back() == 'r';
            field.resize(field.size() - 2);
        }
        const Value* v = nullptr;
        if (field.empty()) {
            v = auto_index < args.args.size() ? &args.args[auto_index] : nullptr;
            ++auto_index;
        } else if (std::all_of(field.begin(), field.end(),
                               [](char d) { return d >= '0' && d <= '9'; })) {
            // An index past size_t is as missing as one past the arguments.
            std::size_t idx = 0;
            const bool parsed =
                std::from_chars(field.data(), field.data() + field.size(), idx).ec == std::errc();
            v = parsed && idx < args.args.size() ? &args.args[idx] : nullptr;
        } else if (const auto it = named.find(field); it != named.end()) {
            v = it->second;
        }
        if (!v) throw TemplateRenderError("format(): missing argument for field '" + field + "'");
        if (!spec.empty()) throw TemplateRenderError("format(): format specs are not supported");
        const std::size_t depth = Limits{}.max_value_depth;
        if (repr)
            out.append_derived(to_repr(*v, depth, max_bytes), str_of(*v, depth, max_bytes));
        else
            append_str(out, *v, depth, max_bytes);
        if (out.size() > max_bytes) throw TemplateLimitError("format() result too large");
        i = close;
    }
    return Value::string(std::move(out));
}

Value str_method(const Interpreter& in, const Value& self, std::string_view name, CallArgs& a) {
    const std::string& s = self.str();
    const std::size_t max_bytes = in.limits().max_output_bytes;
    if (name == "startswith" || name == "endswith") {
        const Value* v = a.get(0, "prefix");
        if (!v) bad_arg(name, "takes at least 1 argument");
        // The options are compared where they are: a tuple of a million references to
        // one 60 MB string was once copied whole, option by option.
        std::vector<std::string_view> options;
        if (v->is_string()) {
            options.push_back(v->str());
        } else if (v->is_list() && v->list().kind == SeqKind::Tuple) {
            for (const auto& o : v->list().items) {
                if (!o.is_string()) bad_arg(name, "tuple items must be str");
                options.push_back(o.str());
            }
        } else {
            bad_arg(name, "first arg must be str or a tuple of str");
        }
        const std::string_view sv = s;
        for (const auto o : options) {
            in.check_deadline();  // each may compare 60 MB
            const bool hit = name == "startswith" ? sv.starts_with(o) : sv.ends_with(o);
            if (hit) return Value::boolean(true);
        }
        return Value::boolean(false);
    }
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const bool left = name != "rstrip";
        const bool right = name != "lstrip";
        const Value* chars = a.get(0, "chars");
        ByteRange kept;
        if (!chars || chars->is_none()) {
            kept = pystr::strip_span(s, left, right);
        } else {
            if (!chars->is_string()) bad_arg(name, "arg must be None or str");
            kept = pystr::strip_chars_span(s, chars->str(), left, right);
        }
        return substring(self, kept.begin, kept.end);
    }
    if (name == "split" || name == "rsplit") {
        const Value* sep = a.get(0, "sep");
        const int64_t maxsplit = int_arg(a, 1, "maxsplit", -1);
        const bool ws = !sep || sep->is_none();
        if (!ws && (!sep->is_string() || sep->str().empty())) bad_arg(name, "empty separator");
        const std::string_view sv = ws ? std::string_view() : std::string_view(sep->str());
        // Splitting at most one more time than a list may hold items gives the same parts
        // when they fit, and one part too many (a limit error) when they do not.
        const auto cap = static_cast<int64_t>(max_list_items(max_bytes));
        const int64_t splits = maxsplit < 0 || maxsplit > cap ? cap : maxsplit;
        return string_list(self,
                           name == "split" ? pystr::split_spans(s, sv, ws, splits)
                                           : pystr::rsplit_spans(s, sv, ws, splits),
                           max_bytes);
    }
    if (name == "splitlines") {
        const Value* keep = a.get(0, "keepends");
        return string_list(
            self, pystr::splitlines_spans(s, keep && truthy(*keep), max_list_items(max_bytes)),
            max_bytes);
    }
    if (name == "replace") {
        str_arg(a, 0, "old", name);
        str_arg(a, 1, "new", name);
        return replace_tracked(self, *a.get(0, "old"), *a.get(1, "new"), int_arg(a, 2, "count", -1),
                               in);
    }
    // Case changes may change byte lengths: the result is client text if any of self was.
    const auto derived = [&](std::string text) {
        TrackedText out;
        out.append_derived(text, self);
        return Value::string(std::move(out));
    };
    if (name == "upper") return derived(pystr::upper(s));
    if (name == "lower" || name == "casefold") return derived(pystr::lower(s));
    if (name == "title") return derived(pystr::title(s));
    if (name == "capitalize") return derived(pystr::capitalize(s));
    if (name == "swapcase") return derived(pystr::swapcase(s));
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
        const int64_t at = pystr::find(s, str_arg(a, 0, "sub", name), name[0] == 'r');
        if (at < 0 && name.find("index") != std::string_view::npos) {
            throw TemplateRenderError("substring not found");
        }
        return Value::integer(at);
    }
    if (name == "count") return Value::integer(pystr::count(s, str_arg(a, 0, "x", name)));
    if (name == "join") {
        const Value* items = a.get(0, "iterable");
        if (!items) bad_arg(name, "takes exactly one argument");
        TrackedText out;
        std::size_t i = 0;
        for (const auto& item : iterate(*items, max_bytes)) {
            if (!item.is_string()) {
                throw TemplateRenderError("sequence item " + std::to_string(i) +
                                          ": expected str instance, " + type_name(item) + " found");
            }
            const std::size_t sep = i++ ? s.size() : 0;
            if (out.size() + sep + item.str().size() > max_bytes)
                throw TemplateLimitError("join result too large");
            if (sep) out.append(self);
            out.append(item);
        }
        return Value::string(std::move(out));
    }
    if (name == "format") return py_format(self, a, max_bytes);
    if (name == "isdigit" || name == "isnumeric") {
        return Value::boolean(all_cp(s, [](char32_t c) { return c >= '0' && c <= '9'; }));
    }
    if (name == "isalpha") {
        return Value::boolean(all_cp(s, [](char32_t c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0;
        }));
    }
    if (name == "isalnum") {
        return Value::boolean(all_cp(s, [](char32_t c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c >= 0xC0;
        }));
    }
    if (name == "isspace") return Value::boolean(all_cp(s, pystr::is_space));
    if (name == "isupper" || name == "islower") {
        const std::string up = pystr::upper(s);
        const std::string low = pystr::lower(s);
        const bool cased = up != low;
        return Value::boolean(cased && (name == "isupper" ? s == up : s == low));
    }
    if (name == "removeprefix") {
        const std::string& p = str_arg(a, 0, "prefix", name);
        const bool hit = s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
        return hit ? substring(self, p.size(), s.size()) : self;
    }
    if (name == "removesuffix") {
        const std::string& p = str_arg(a, 0, "suffix", name);
        const bool hit =
            !p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
        return hit ? substring(self, 0, s.size() - p.size()) : self;
    }
    throw TemplateRenderError("str method '" + std::string(name) + "' is not supported");
}

Value dict_method(const Value& self, std::string_view name, CallArgs& a) {
    const DictData& d = self.dict();
    if (name == "items" || name == "keys" || name == "values") {
        std::vector<Value> out;
        out.reserve(d.size());
        for (const auto& [k, v] : d.items()) {
            if (name == "items")
                out.push_back(Value::list({k, v}, SeqKind::Tuple));
            else
                out.push_back(name == "keys" ? k : v);
        }
        return Value::list(std::move(out));
    }
    if (name == "get") {
        const Value* key = a.get(0, "key");
        if (!key) bad_arg(name, "expected at least 1 argument");
        if (const Value* v = d.find(*key)) return *v;
        const Value* dflt = a.get(1, "default");
        return dflt ? *dflt : Value::none();
    }
    if (name == "copy") return self;  // values are immutable: sharing is a copy
    throw TemplateRenderError("dict method '" + std::string(name) + "' is not supported");
}

Value list_method(const Interpreter& in, const Value& self, std::string_view name, CallArgs& a) {
    const auto& items = self.list().items;
    if (name == "index" || name == "count") {
        const Value* x = a.get(0, "value");
        if (!x) bad_arg(name, "takes exactly one argument");
        int64_t n = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (values_equal(items[i], *x, in.limits().max_value_depth, &in)) {
                if (name == "index") return Value::integer(static_cast<int64_t>(i));
                ++n;
            }
        }
        if (name == "index") throw TemplateRenderError(to_repr(*x) + " is not in list");
        return Value::integer(n);
    }
    if (name == "copy") return self;
    throw TemplateRenderError("list method '" + std::string(name) + "' is not supported");
}

}  // namespace

bool has_method(const Value& self, std::string_view name) {
    if (self.is_string()) return in(kStrMethods, name);
    if (self.is_dict()) return in(kDictMethods, name);
    if (self.is_list() && self.list().kind != SeqKind::Iterator) {
        return in(kListMethods, name) && !(name == "copy" && self.list().kind == SeqKind::Tuple);
    }
    return false;
}

bool is_attribute(const Value& self, std::string_view name) {
    return has_method(self, name) || is_mutator(self, name);
}

Value bound_method(const Value& self, std::string_view name) {
    if (is_mutator(self, name)) {
        return Value::undefined("access to attribute '" + std::string(name) + "' of '" +
                                type_name(self) + "' object is unsafe.");
    }
    if (!has_method(self, name)) return Value();
    std::string method(name);
    return Value::object(
        std::make_shared<FunctionObject>(method, [self, method](Interpreter& in, CallArgs& args) {
            return call_method(in, self, method, args);
        }));
}

Value replace_tracked(const Value& self, const Value& from_value, const Value& to, int64_t count,
                      const Interpreter& render) {
    const std::size_t max_bytes = render.limits().max_output_bytes;
    const std::string& s = self.str();
    const std::string& from = from_value.str();
    TrackedText out;
    int64_t done = 0;
    const auto insert = [&] {
        render.tick();
        if (out.size() + to.str().size() > max_bytes) {
            throw TemplateLimitError("replace result exceeds the output size limit");
        }
        out.append(to);
        ++done;
    };
    if (from.empty()) {  // Python inserts `to` before every code point and at the end
        std::size_t pos = 0;
        while (pos < s.size()) {
            if (count < 0 || done < count) insert();
            const std::size_t start = pos;
            pystr::decode(s, pos);
            out.append_part(self, start, pos);
        }
        if (count < 0 || done < count) insert();
        return Value::string(std::move(out));
    }
    std::size_t start = 0;
    while (count < 0 || done < count) {
        const std::size_t hit = pystr::find_bytes(s, from, start);
        if (hit == std::string::npos) break;
        out.append_part(self, start, hit);
        insert();
        start = hit + from.size();
    }
    out.append_part(self, start, s.size());
    return Value::string(std::move(out));
}

Value call_method(Interpreter& in, const Value& self, std::string_view name, CallArgs& args) {
    if (self.is_string()) return str_method(in, self, name, args);
    if (self.is_dict()) return dict_method(self, name, args);
    return list_method(in, self, name, args);
}

}  // namespace pensieve::chat
