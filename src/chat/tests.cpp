// jinja2's builtin tests (jinja2/tests.py): `x is defined`, `x is string`, ...
#include <algorithm>
#include <array>

#include "chat/builtins.hpp"
#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/ops.hpp"
#include "chat/pystr.hpp"

namespace pensieve::chat {

namespace {

using Args = CallArgs;

const Value& need(const Args& a, std::string_view test) {
    if (a.args.empty())
        throw TemplateRenderError("test '" + std::string(test) + "' needs an argument");
    return a.args[0];
}

int64_t int_of(const Value& v, std::string_view test) {
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_integral())
        throw TemplateRenderError("test '" + std::string(test) + "' needs an integer");
    return v.as_int();
}

bool t_odd(Interpreter&, const Value& v, Args&) {
    return int_of(v, "odd") % 2 != 0;
}
bool t_even(Interpreter&, const Value& v, Args&) {
    return int_of(v, "even") % 2 == 0;
}
bool t_divisibleby(Interpreter&, const Value& v, Args& a) {
    const int64_t n = int_of(need(a, "divisibleby"), "divisibleby");
    if (n == 0) throw TemplateRenderError("integer division or modulo by zero");
    return int_of(v, "divisibleby") % n == 0;
}
bool t_defined(Interpreter&, const Value& v, Args&) {
    return !v.is_undefined();
}
bool t_undefined(Interpreter&, const Value& v, Args&) {
    return v.is_undefined();
}
bool t_none(Interpreter&, const Value& v, Args&) {
    return v.is_none();
}
bool t_boolean(Interpreter&, const Value& v, Args&) {
    return v.is_bool();
}
bool t_false(Interpreter&, const Value& v, Args&) {
    return v.is_bool() && !v.as_bool();
}
bool t_true(Interpreter&, const Value& v, Args&) {
    return v.is_bool() && v.as_bool();
}
bool t_integer(Interpreter&, const Value& v, Args&) {
    return v.is_int();
}
bool t_float(Interpreter&, const Value& v, Args&) {
    return v.is_float();
}
bool t_number(Interpreter&, const Value& v, Args&) {
    return v.is_number();
}
bool t_string(Interpreter&, const Value& v, Args&) {
    return v.is_string();
}
bool t_mapping(Interpreter&, const Value& v, Args&) {
    return v.is_dict();
}
bool t_lower(Interpreter&, const Value& v, Args&) {
    const std::string s = to_str(v);
    return pystr::lower(s) == s && pystr::upper(s) != s;
}
bool t_upper(Interpreter&, const Value& v, Args&) {
    const std::string s = to_str(v);
    return pystr::upper(s) == s && pystr::lower(s) != s;
}
bool t_iterable(Interpreter&, const Value& v, Args&) {
    // jinja2's Undefined defines __iter__, so it counts as iterable.
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_sequence(Interpreter&, const Value& v, Args&) {
    return v.is_string() || v.is_dict() || v.is_undefined() ||
           (v.is_list() && v.list().kind != SeqKind::Iterator);
}
bool t_callable(Interpreter&, const Value& v, Args&) {
    return v.is_undefined() || (v.is_object() && v.object().is_callable());
}
bool t_sameas(Interpreter&, const Value& v, Args& a) {
    const Value& other = need(a, "sameas");
    if (v.kind() != other.kind()) return false;
    switch (v.kind()) {
        case Value::Kind::None:
        case Value::Kind::Undefined:
            return true;
        case Value::Kind::Bool:
        case Value::Kind::Int:
            return v.as_int() == other.as_int();
        default:
            return v.identity() == other.identity();
    }
}
bool t_escaped(Interpreter&, const Value&, Args&) {
    return false;
}
bool t_in(Interpreter& in, const Value& v, Args& a) {
    return contains(need(a, "in"), v, &in);
}
bool t_eq(Interpreter& in, const Value& v, Args& a) {
    return values_equal(v, need(a, "eq"), in.limits().max_value_depth, &in);
}
bool t_ne(Interpreter& in, const Value& v, Args& a) {
    return !values_equal(v, need(a, "ne"), in.limits().max_value_depth, &in);
}
bool t_lt(Interpreter& in, const Value& v, Args& a) {
    return compare(CompareOp::Lt, v, need(a, "lt"), &in);
}
bool t_le(Interpreter& in, const Value& v, Args& a) {
    return compare(CompareOp::Le, v, need(a, "le"), &in);
}
bool t_gt(Interpreter& in, const Value& v, Args& a) {
    return compare(CompareOp::Gt, v, need(a, "gt"), &in);
}
bool t_ge(Interpreter& in, const Value& v, Args& a) {
    return compare(CompareOp::Ge, v, need(a, "ge"), &in);
}
bool t_filter(Interpreter&, const Value& v, Args&) {
    return v.is_string() && (find_filter(v.str()) != nullptr || is_unsupported_filter(v.str()));
}
bool t_test(Interpreter&, const Value& v, Args&) {
    return v.is_string() && find_test(v.str()) != nullptr;
}

struct TestEntry {
    std::string_view name;
    TestFn fn;
};

constexpr std::array<TestEntry, 39> kTests = {{
    {"odd", t_odd},
    {"even", t_even},
    {"divisibleby", t_divisibleby},
    {"defined", t_defined},
    {"undefined", t_undefined},
    {"filter", t_filter},
    {"test", t_test},
    {"none", t_none},
    {"boolean", t_boolean},
    {"false", t_false},
    {"true", t_true},
    {"integer", t_integer},
    {"float", t_float},
    {"lower", t_lower},
    {"upper", t_upper},
    {"string", t_string},
    {"mapping", t_mapping},
    {"number", t_number},
    {"sequence", t_sequence},
    {"iterable", t_iterable},
    {"callable", t_callable},
    {"sameas", t_sameas},
    {"escaped", t_escaped},
    {"in", t_in},
    {"==", t_eq},
    {"eq", t_eq},
    {"equalto", t_eq},
    {"!=", t_ne},
    {"ne", t_ne},
    {">", t_gt},
    {"gt", t_gt},
    {"greaterthan", t_gt},
    {">=", t_ge},
    {"ge", t_ge},
    {"<", t_lt},
    {"lt", t_lt},
    {"lessthan", t_lt},
    {"<=", t_le},
    {"le", t_le},
}};

}  // namespace

TestFn find_test(std::string_view name) {
    for (const auto& e : kTests) {
        if (e.name == name) return e.fn;
    }
    return nullptr;
}

}  // namespace pensieve::chat
