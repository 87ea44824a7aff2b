// An independent JSON Schema validator for the keywords the grammar enforces,
// written straight from the JSON Schema spec (no code shared with the
// compiler), so generated documents are checked against the schema's
// meaning rather than against the grammar that produced them.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace pensieve::grammar::testing {

class Validator {
  public:
    explicit Validator(nlohmann::json root) : root_(std::move(root)) {}

    // "" when valid, else the first failure with its instance path.
    std::string check(const nlohmann::json& v) const { return check(root_, v, "", 0); }

  private:
    // A small backtracking regex for the test schemas' patterns: literals,
    // escaped punctuation, [a-z_] classes, \\d, \\w, quantifiers ? * + {m}
    // {m,} {m,n}, anchors ^ and $. (std::regex is avoided on purpose.)
    struct Atom {
        bool cls[128] = {};
        size_t lo = 1, hi = 1;
    };
    static std::vector<Atom> parse_pattern(const std::string& p, bool& anchored_start,
                                           bool& anchored_end) {
        std::vector<Atom> atoms;
        size_t i = 0;
        anchored_start = !p.empty() && p[0] == '^';
        if (anchored_start) i = 1;
        anchored_end = false;
        while (i < p.size()) {
            if (p[i] == '$' && i + 1 == p.size()) {
                anchored_end = true;
                break;
            }
            Atom a;
            auto add_escape = [&](char e) {
                for (int c = 0; c < 128; ++c) {
                    const bool digit = c >= '0' && c <= '9';
                    const bool word =
                        digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
                    if ((e == 'd' && digit) || (e == 'w' && word) || c == e) a.cls[c] = true;
                }
            };
            if (p[i] == '[') {
                ++i;
                while (p[i] != ']') {
                    if (p[i] == '\\') {
                        add_escape(p[i + 1]);
                        i += 2;
                    } else if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
                        for (int c = p[i]; c <= p[i + 2]; ++c) a.cls[c] = true;
                        i += 3;
                    } else {
                        a.cls[static_cast<int>(p[i++])] = true;
                    }
                }
                ++i;
            } else if (p[i] == '\\') {
                add_escape(p[i + 1]);
                i += 2;
            } else {
                a.cls[static_cast<int>(p[i++])] = true;
            }
            if (i < p.size() && (p[i] == '?' || p[i] == '*' || p[i] == '+')) {
                a.lo = p[i] == '+' ? 1 : 0;
                a.hi = p[i] == '?' ? 1 : SIZE_MAX;
                ++i;
            } else if (i < p.size() && p[i] == '{') {
                const size_t close = p.find('}', i);
                const std::string body = p.substr(i + 1, close - i - 1);
                const size_t comma = body.find(',');
                a.lo = std::stoul(body.substr(0, comma));
                a.hi = comma == std::string::npos ? a.lo
                       : comma + 1 == body.size() ? SIZE_MAX
                                                  : std::stoul(body.substr(comma + 1));
                i = close + 1;
            }
            atoms.push_back(a);
        }
        return atoms;
    }
    static bool match_here(const std::vector<Atom>& atoms, size_t k, const std::string& s, size_t i,
                           bool end) {
        if (k == atoms.size()) return !end || i == s.size();
        const Atom& a = atoms[k];
        size_t n = 0;
        while (n < a.hi && i + n < s.size() && static_cast<unsigned char>(s[i + n]) < 128 &&
               a.cls[static_cast<unsigned char>(s[i + n])]) {
            ++n;
        }
        for (size_t take = n + 1; take-- > a.lo;) {
            if (match_here(atoms, k + 1, s, i + take, end)) return true;
        }
        return false;
    }
    static bool pattern_search(const std::string& pattern, const std::string& s) {
        bool start = false, end = false;
        const auto atoms = parse_pattern(pattern, start, end);
        for (size_t i = 0; i <= (start ? 0 : s.size()); ++i) {
            if (match_here(atoms, 0, s, i, end)) return true;
        }
        return false;
    }

    static size_t code_points(const std::string& s) {
        size_t n = 0;
        for (unsigned char c : s) n += (c & 0xC0) != 0x80;
        return n;
    }

    static bool has_type(const nlohmann::json& v, const std::string& t) {
        if (t == "object") return v.is_object();
        if (t == "array") return v.is_array();
        if (t == "string") return v.is_string();
        if (t == "boolean") return v.is_boolean();
        if (t == "null") return v.is_null();
        if (t == "number") return v.is_number();
        if (t == "integer") {
            return v.is_number_integer() ||
                   (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
        }
        return false;
    }

    std::string check(const nlohmann::json& s, const nlohmann::json& v, const std::string& at,
                      int depth) const {
        if (depth > 100) return at + ": too deep";
        if (s.is_boolean()) return s.get<bool>() ? "" : at + ": false schema";
        if (s.contains("$ref")) {
            const std::string ref = s["$ref"].get<std::string>();
            return check(root_.at(nlohmann::json::json_pointer(ref.substr(1))), v, at, depth + 1);
        }
        if (s.contains("type")) {
            const auto& t = s["type"];
            bool ok = false;
            if (t.is_string()) ok = has_type(v, t.get<std::string>());
            for (const auto& x : t.is_array() ? t : nlohmann::json::array())
                ok = ok || has_type(v, x.get<std::string>());
            if (!ok) return at + ": wrong type " + v.dump();
        }
        if (s.contains("enum")) {
            bool found = false;
            for (const auto& e : s["enum"]) found = found || e == v;
            if (!found) return at + ": not in enum";
        }
        if (s.contains("const") && s["const"] != v) return at + ": not the const";
        if (s.contains("anyOf")) {
            bool any = false;
            for (const auto& sub : s["anyOf"]) any = any || check(sub, v, at, depth + 1).empty();
            if (!any) return at + ": no anyOf branch matches";
        }
        if (v.is_object()) {
            const auto props = s.value("properties", nlohmann::json::object());
            for (const auto& r : s.value("required", nlohmann::json::array())) {
                if (!v.contains(r.get<std::string>()))
                    return at + ": missing " + r.get<std::string>();
            }
            for (const auto& [k, item] : v.items()) {
                if (props.contains(k)) {
                    if (auto e = check(props[k], item, at + "/" + k, depth + 1); !e.empty())
                        return e;
                } else if (s.contains("additionalProperties")) {
                    if (auto e = check(s["additionalProperties"], item, at + "/" + k, depth + 1);
                        !e.empty())
                        return e;
                }
            }
        }
        if (v.is_array()) {
            if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
                return at + ": too few items";
            if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
                return at + ": too many items";
            if (s.contains("items")) {
                for (size_t i = 0; i < v.size(); ++i) {
                    if (auto e = check(s["items"], v[i], at + "/" + std::to_string(i), depth + 1);
                        !e.empty())
                        return e;
                }
            }
        }
        if (v.is_string()) {
            const std::string str = v.get<std::string>();
            const size_t n = code_points(str);
            if (s.contains("minLength") && n < s["minLength"].get<size_t>())
                return at + ": too short";
            if (s.contains("maxLength") && n > s["maxLength"].get<size_t>())
                return at + ": too long";
            if (s.contains("pattern") && !pattern_search(s["pattern"].get<std::string>(), str)) {
                return at + ": pattern mismatch " + str;
            }
        }
        if (v.is_number()) {
            const double x = v.get<double>();
            if (s.contains("minimum") && x < s["minimum"].get<double>())
                return at + ": below minimum";
            if (s.contains("maximum") && x > s["maximum"].get<double>())
                return at + ": above maximum";
            if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>())
                return at + ": not above exclusiveMinimum";
            if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>())
                return at + ": not below exclusiveMaximum";
        }
        return "";
    }

    nlohmann::json root_;
};

}  // namespace pensieve::grammar::testing
