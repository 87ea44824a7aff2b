// JSON Schema -> Grammar: one node per schema (and per `type` of a type
// array), `$ref` targets compiled once and shared so recursion becomes a
// cycle in the node graph. Keywords are checked for shape as they are read;
// a malformed one is a SchemaError with its JSON pointer.
#include "engine/grammar/schema_compiler.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engine/grammar/pattern.hpp"

namespace pensieve::grammar {

namespace {

// Ordered, so "schema order" is the order the schema lists its properties.
using json = nlohmann::ordered_json;

// Keywords with no effect on which documents are valid.
const std::set<std::string, std::less<>> kAnnotations = {
    "$schema",  "$id",        "$comment", "$anchor",   "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"};

// Validation keywords the compiler does not enforce (reported as relaxed).
const std::set<std::string, std::less<>> kUnenforced = {"format",
                                                        "multipleOf",
                                                        "uniqueItems",
                                                        "contains",
                                                        "minContains",
                                                        "maxContains",
                                                        "prefixItems",
                                                        "patternProperties",
                                                        "propertyNames",
                                                        "minProperties",
                                                        "maxProperties",
                                                        "dependentRequired",
                                                        "dependentSchemas",
                                                        "dependencies",
                                                        "not",
                                                        "if",
                                                        "then",
                                                        "else",
                                                        "unevaluatedItems",
                                                        "unevaluatedProperties",
                                                        "contentEncoding",
                                                        "contentMediaType",
                                                        "additionalItems"};

Node make_node(NodeKind kind) {
    Node n;
    n.kind = kind;
    return n;
}

std::string escape_pointer_token(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

bool matches_type(const json& v, const std::string& type) {
    if (type == "null") return v.is_null();
    if (type == "boolean") return v.is_boolean();
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "number") return v.is_number();
    if (type == "integer") {
        return v.is_number_integer() ||
               (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    }
    return false;
}

// Values nest at most this deep (a deeper enum/const is a SchemaError).
constexpr int kMaxValueDepth = 64;

void append_canonical(const json& v, std::string& out, int depth = 0) {
    if (depth > kMaxValueDepth) throw SchemaError("", "enum/const value nested too deeply");
    if (v.is_object()) {
        out += '{';
        bool first = true;
        for (const auto& [k, item] : v.items()) {
            if (!first) out += ", ";
            first = false;
            out += json(k).dump(-1, ' ', false, json::error_handler_t::replace);
            out += ": ";
            append_canonical(item, out, depth + 1);
        }
        out += '}';
    } else if (v.is_array()) {
        out += '[';
        for (size_t i = 0; i < v.size(); ++i) {
            if (i) out += ", ";
            append_canonical(v[i], out, depth + 1);
        }
        out += ']';
    } else {
        out += v.dump(-1, ' ', false, json::error_handler_t::replace);
    }
}

class Compiler {
  public:
    Compiler(const json& doc, const CompileOptions& options) : doc_(doc) {
        g_.layout = options.layout;
    }

    Grammar run() {
        g_.root = compile(doc_, "", 0);
        g_.finish();
        return std::move(g_);
    }

    NodeId any() {
        if (any_) return *any_;
        const NodeId a = add(Node{});
        any_ = a;
        Node obj = make_node(NodeKind::Object);
        obj.additional = a;
        Node arr = make_node(NodeKind::Array);
        arr.items = a;
        Node str = make_node(NodeKind::String);
        Node num = make_node(NodeKind::Number);
        Node lit = make_node(NodeKind::Literal);
        lit.literals = {"false", "null", "true"};
        const NodeId ids[] = {add(std::move(obj)), add(std::move(arr)), add(std::move(str)),
                              add(std::move(num)), add(std::move(lit))};
        g_.nodes[a].options.assign(std::begin(ids), std::end(ids));
        return a;
    }

    NodeId add(Node n) {
        if (g_.nodes.size() >= kMaxNodes) throw SchemaError("", "schema too large");
        g_.nodes.push_back(std::move(n));
        return static_cast<NodeId>(g_.nodes.size() - 1);
    }

  private:
    void relax(const std::string& keyword, const std::string& path) {
        const std::string entry = keyword + " at " + (path.empty() ? "/" : path);
        if (relaxed_seen_.insert(keyword).second) g_.relaxed.push_back(entry);
    }

    static uint32_t count_keyword(const json& s, const char* key, const std::string& path) {
        const json& v = s.at(key);
        if (!v.is_number_integer() || v.get<int64_t>() < 0) {
            throw SchemaError(path + "/" + key,
                              std::string(key) + " must be a non-negative integer");
        }
        return static_cast<uint32_t>(std::min<int64_t>(v.get<int64_t>(), UINT32_MAX));
    }

    NodeId compile(const json& s, const std::string& path, int depth) {
        if (depth > 64) throw SchemaError(path, "schema nested too deeply");
        if (s.is_boolean()) {
            if (s.get<bool>()) return any();
            throw SchemaError(path, "schema false matches nothing");
        }
        if (!s.is_object()) throw SchemaError(path, "a schema must be an object or a boolean");
        for (const auto& [key, value] : s.items()) {
            if (kUnenforced.count(key)) relax(key, path + "/" + escape_pointer_token(key));
        }
        if (s.contains("$ref")) return compile_ref(s, path, depth);
        if (s.contains("const")) {
            return literal_node({s.at("const")}, s, path);
        }
        if (s.contains("enum")) {
            const json& e = s.at("enum");
            if (!e.is_array() || e.empty()) {
                throw SchemaError(path + "/enum", "enum must be a non-empty array");
            }
            return literal_node(std::vector<json>(e.begin(), e.end()), s, path);
        }
        for (const char* key : {"anyOf", "oneOf", "allOf"}) {
            if (!s.contains(key)) continue;
            const json& list = s.at(key);
            const std::string p = path + "/" + key;
            if (!list.is_array() || list.empty()) {
                throw SchemaError(p, std::string(key) + " must be a non-empty array");
            }
            if (has_siblings(s, key)) {
                relax(key, p);  // intersecting with sibling keywords is not enforced
                continue;
            }
            if (std::string(key) == "allOf") {
                if (list.size() == 1) return compile(list[0], p + "/0", depth + 1);
                if (list.size() == 2 && list[1] == json{{"type", "object"}}) {
                    // A schema narrowed to its objects (see Node::objects_only).
                    const NodeId id = add(make_node(NodeKind::AnyOf));
                    const NodeId body = compile(list[0], p + "/0", depth + 1);
                    g_.nodes[id].options = {body};
                    g_.nodes[id].objects_only = true;
                    return id;
                }
                relax(key, p);
                return any();
            }
            if (std::string(key) == "oneOf") relax("oneOf (as anyOf)", p);
            Node n = make_node(NodeKind::AnyOf);
            const NodeId id = add(std::move(n));
            std::vector<NodeId> opts;
            for (size_t i = 0; i < list.size(); ++i) {
                opts.push_back(compile(list[i], p + "/" + std::to_string(i), depth + 1));
            }
            g_.nodes[id].options = std::move(opts);
            return id;
        }
        std::vector<std::string> types;
        if (s.contains("type")) {
            const json& t = s.at("type");
            if (t.is_string()) {
                types.push_back(t.get<std::string>());
            } else if (t.is_array() && !t.empty()) {
                for (const json& item : t) {
                    if (!item.is_string())
                        throw SchemaError(path + "/type", "type names must be strings");
                    types.push_back(item.get<std::string>());
                }
            } else {
                throw SchemaError(path + "/type", "type must be a string or a non-empty array");
            }
        } else {
            types.push_back(infer_type(s));
            if (types.back().empty()) return any();
        }
        if (types.size() == 1) return typed(types[0], s, path, depth);
        std::vector<NodeId> opts;
        for (const std::string& t : types) opts.push_back(typed(t, s, path, depth));
        Node n = make_node(NodeKind::AnyOf);
        n.options = std::move(opts);
        return add(std::move(n));
    }

    static bool has_siblings(const json& s, const std::string& except) {
        for (const auto& [key, value] : s.items()) {
            if (key != except && !kAnnotations.count(key)) return true;
        }
        return false;
    }

    static std::string infer_type(const json& s) {
        for (const char* k : {"properties", "additionalProperties", "required"}) {
            if (s.contains(k)) return "object";
        }
        for (const char* k : {"items", "minItems", "maxItems"}) {
            if (s.contains(k)) return "array";
        }
        for (const char* k : {"minLength", "maxLength", "pattern"}) {
            if (s.contains(k)) return "string";
        }
        return "";
    }

    NodeId compile_ref(const json& s, const std::string& path, int depth) {
        const json& ref = s.at("$ref");
        const std::string p = path + "/$ref";
        if (!ref.is_string()) throw SchemaError(p, "$ref must be a string");
        const std::string r = ref.get<std::string>();
        if (r.empty() || r[0] != '#')
            throw SchemaError(p, "only local $ref (\"#...\") is supported");
        const json* target = nullptr;
        try {
            target = &doc_.at(json::json_pointer(r.substr(1)));
        } catch (const json::exception&) {
            throw SchemaError(p, "$ref \"" + r + "\" does not resolve");
        }
        if (has_siblings(s, "$ref")) relax("$ref siblings", path);
        if (auto it = memo_.find(target); it != memo_.end()) return it->second;
        // An alias node first, so a recursive reference finds it while the
        // target is being compiled.
        const NodeId alias = add(make_node(NodeKind::AnyOf));
        memo_[target] = alias;
        const NodeId body = compile(*target, r.substr(1), depth + 1);
        g_.nodes[alias].options = {body};
        return alias;
    }

    NodeId literal_node(const std::vector<json>& values, const json& s, const std::string& path) {
        std::vector<std::string> types;
        if (s.contains("type")) {
            const json& t = s.at("type");
            if (t.is_string()) types.push_back(t.get<std::string>());
            if (t.is_array()) {
                for (const json& x : t) {
                    if (x.is_string()) types.push_back(x.get<std::string>());
                }
            }
        }
        Node n = make_node(NodeKind::Literal);
        for (const json& v : values) {
            const bool typed_ok =
                types.empty() || std::any_of(types.begin(), types.end(),
                                             [&](const auto& t) { return matches_type(v, t); });
            if (!typed_ok) continue;
            try {
                n.literals.push_back(canonical_json(v));
            } catch (const SchemaError& e) {
                throw SchemaError(path, "enum/const value nested too deeply");
            }
        }
        if (n.literals.empty()) throw SchemaError(path, "no enum/const value matches the type");
        std::sort(n.literals.begin(), n.literals.end());
        n.literals.erase(std::unique(n.literals.begin(), n.literals.end()), n.literals.end());
        return add(std::move(n));
    }

    NodeId typed(const std::string& type, const json& s, const std::string& path, int depth) {
        if (type == "object") return object_node(s, path, depth);
        if (type == "array") return array_node(s, path, depth);
        if (type == "string") return string_node(s, path);
        if (type == "integer") return integer_node(s, path);
        if (type == "number") {
            for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
                if (s.contains(k)) relax(std::string(k) + " (number)", path + "/" + k);
            }
            return add(make_node(NodeKind::Number));
        }
        Node lit = make_node(NodeKind::Literal);
        if (type == "boolean")
            lit.literals = {"false", "true"};
        else if (type == "null")
            lit.literals = {"null"};
        else
            throw SchemaError(path + "/type", "unknown type \"" + type + "\"");
        return add(std::move(lit));
    }

    NodeId object_node(const json& s, const std::string& path, int depth) {
        const NodeId id = add(make_node(NodeKind::Object));
        std::vector<Property> props;
        std::vector<std::string> forbidden;  // keys whose schema is `false`
        if (s.contains("properties")) {
            const json& ps = s.at("properties");
            if (!ps.is_object())
                throw SchemaError(path + "/properties", "properties must be an object");
            for (const auto& [key, sub] : ps.items()) {
                const std::string p = path + "/properties/" + escape_pointer_token(key);
                if (sub.is_boolean() && !sub.get<bool>()) {  // the key must not appear
                    forbidden.push_back(escaped_key(key));
                    continue;
                }
                Property prop;
                prop.key = escaped_key(key);
                prop.value = compile(sub, p, depth + 1);
                props.push_back(std::move(prop));
            }
        }
        std::optional<NodeId> additional;
        if (!s.contains("additionalProperties")) {
            additional = any();
        } else {
            const json& a = s.at("additionalProperties");
            if (a.is_boolean()) {
                if (a.get<bool>()) additional = any();
            } else {
                additional = compile(a, path + "/additionalProperties", depth + 1);
            }
        }
        if (s.contains("required")) {
            const json& req = s.at("required");
            if (!req.is_array()) throw SchemaError(path + "/required", "required must be an array");
            for (size_t i = 0; i < req.size(); ++i) {
                const std::string p = path + "/required/" + std::to_string(i);
                if (!req[i].is_string()) throw SchemaError(p, "required names must be strings");
                const std::string key = escaped_key(req[i].get<std::string>());
                auto it = std::find_if(props.begin(), props.end(),
                                       [&](const Property& q) { return q.key == key; });
                if (it != props.end()) {
                    it->required = true;
                } else if (std::find(forbidden.begin(), forbidden.end(), key) != forbidden.end()) {
                    throw SchemaError(p, "a required key whose schema is false: nothing matches");
                } else if (additional) {
                    props.push_back(Property{key, *additional, true});  // a required extra key
                } else {
                    throw SchemaError(
                        p, "required key is not allowed by properties/additionalProperties");
                }
            }
        }
        if (props.size() > kMaxProperties) {
            throw SchemaError(path + "/properties", "more than 64 properties in one object");
        }
        // Extra keys are matched by their schema, not by name, so one that a
        // `false` property forbids could still be written as an extra key.
        if (additional && !forbidden.empty()) relax("properties (false)", path + "/properties");
        g_.nodes[id].properties = std::move(props);
        g_.nodes[id].additional = additional;
        return id;
    }

    NodeId array_node(const json& s, const std::string& path, int depth) {
        const NodeId id = add(make_node(NodeKind::Array));
        NodeId items = 0;
        uint32_t lo = 0, hi = UINT32_MAX;
        if (s.contains("minItems")) lo = count_keyword(s, "minItems", path);
        if (s.contains("maxItems")) hi = count_keyword(s, "maxItems", path);
        if (!s.contains("items")) {
            items = any();
        } else if (s.at("items").is_array()) {
            relax("items (array form)", path + "/items");
            items = any();
        } else if (s.at("items").is_boolean() && !s.at("items").get<bool>()) {
            items = any();
            hi = 0;
        } else {
            items = compile(s.at("items"), path + "/items", depth + 1);
        }
        if (lo > hi) throw SchemaError(path + "/minItems", "minItems is greater than maxItems");
        Node& n = g_.nodes[id];
        n.items = items;
        n.min_items = lo;
        n.max_items = hi;
        return id;
    }

    NodeId string_node(const json& s, const std::string& path) {
        Node n = make_node(NodeKind::String);
        if (s.contains("minLength")) n.min_length = count_keyword(s, "minLength", path);
        if (s.contains("maxLength")) n.max_length = count_keyword(s, "maxLength", path);
        if (s.contains("pattern")) {
            const json& pat = s.at("pattern");
            if (!pat.is_string()) throw SchemaError(path + "/pattern", "pattern must be a string");
            const auto r = reduce_pattern(pat.get<std::string>());
            if (!r || !r->exact) relax("pattern", path + "/pattern");
            if (r && (!r->pattern.prefix.empty() || r->pattern.has_class)) {
                // Lengths in 64 bits, saturating: a repeat count near
                // UINT32_MAX plus the prefix must not wrap around.
                const auto saturate = [](uint64_t v) {
                    return static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX));
                };
                const uint64_t plen = r->pattern.prefix.size();
                n.pattern = r->pattern;
                n.min_length = std::max(n.min_length,
                                        saturate(plen + (r->pattern.has_class ? r->min_class : 0)));
                if (r->pattern.has_class && r->max_class != UINT32_MAX) {
                    n.max_length = std::min(n.max_length, saturate(plen + r->max_class));
                }
            }
        }
        if (n.min_length > n.max_length) {
            throw SchemaError(path + "/minLength",
                              "minLength is greater than maxLength (or the pattern's length)");
        }
        return add(std::move(n));
    }

    NodeId integer_node(const json& s, const std::string& path) {
        Node n = make_node(NodeKind::Integer);
        auto bound = [&](const char* key) -> std::optional<double> {
            if (!s.contains(key)) return std::nullopt;
            const json& v = s.at(key);
            if (!v.is_number())
                throw SchemaError(path + "/" + key, std::string(key) + " must be a number");
            return v.get<double>();
        };
        auto clamp = [](double d) {
            if (d <= -9.2e18) return INT64_MIN;
            if (d >= 9.2e18) return INT64_MAX;
            return static_cast<int64_t>(d);
        };
        if (auto v = bound("minimum")) n.minimum = std::max(n.minimum, clamp(std::ceil(*v)));
        if (auto v = bound("exclusiveMinimum"))
            n.minimum = std::max(n.minimum, clamp(std::floor(*v) + 1));
        if (auto v = bound("maximum")) n.maximum = std::min(n.maximum, clamp(std::floor(*v)));
        if (auto v = bound("exclusiveMaximum"))
            n.maximum = std::min(n.maximum, clamp(std::ceil(*v) - 1));
        if (n.minimum > n.maximum)
            throw SchemaError(path + "/minimum", "minimum is greater than maximum");
        return add(std::move(n));
    }

    static std::string escaped_key(const std::string& key) {
        const std::string quoted = json(key).dump(-1, ' ', false, json::error_handler_t::replace);
        return quoted.substr(1, quoted.size() - 2);
    }

    const json& doc_;
    Grammar g_;
    std::optional<NodeId> any_;
    std::map<const json*, NodeId> memo_;
    std::set<std::string> relaxed_seen_;
};

}  // namespace

std::string canonical_json(const json& value) {
    std::string out;
    append_canonical(value, out);
    return out;
}

namespace {

// Whether the document nests deeper than `limit`; recurses at most `limit`
// levels, so checking a hostile document cannot itself exhaust the stack.
template <class J>
bool nests_deeper(const J& j, int limit) {
    if (!j.is_structured()) return false;
    if (limit == 0) return true;
    for (const auto& item : j) {
        if (nests_deeper(item, limit - 1)) return true;
    }
    return false;
}

constexpr int kMaxSchemaJsonDepth = 256;

}  // namespace

Grammar compile_schema(const json& schema, const CompileOptions& options) {
    if (nests_deeper(schema, kMaxSchemaJsonDepth))
        throw SchemaError("", "schema nested too deeply");
    return Compiler(schema, options).run();
}

Grammar compile_schema(const nlohmann::json& schema, const CompileOptions& options) {
    // Checked before the conversion, which copies recursively.
    if (nests_deeper(schema, kMaxSchemaJsonDepth))
        throw SchemaError("", "schema nested too deeply");
    return compile_schema(json(schema), options);
}

std::string canonical_json(const nlohmann::json& value) {
    return canonical_json(json(value));
}

Grammar any_json_object() {
    return compile_schema(json{{"type", "object"}});
}

}  // namespace pensieve::grammar
