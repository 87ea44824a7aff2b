// Expression grammar, mirroring jinja2/parser.py (precedence from loosest to tightest:
// conditional, or, and, not, comparisons/in, + -, ~, * / // %, **, unary - +, then
// primary with postfix . [] () and | filters / is tests).
#include <cstdlib>

#include "chat/builtins.hpp"
#include "chat/error.hpp"
#include "chat/parser.hpp"

namespace pensieve::chat {

namespace {

template <typename T>
std::unique_ptr<T> make(uint32_t offset) {
    return std::make_unique<T>(offset);
}

}  // namespace

void Parser::check_height(Expr& e, std::initializer_list<const Expr*> children) {
    uint32_t h = 0;
    for (const Expr* c : children) {
        if (c && c->depth > h) h = c->depth;
    }
    e.depth = h + 1;
    if (e.depth > limits_.max_nesting) fail("expression nested too deeply", e.offset);
}

ExprPtr Parser::parse_expression(bool with_condexpr) {
    return with_condexpr ? parse_condexpr() : parse_or();
}

bool Parser::is_tuple_end(std::initializer_list<std::string_view> extra_end) const {
    const Tok t = cur().type;
    if (t == Tok::VarEnd || t == Tok::BlockEnd || t == Tok::Eof ||
        (t == Tok::Op && cur().text == ")")) {
        return true;
    }
    for (auto name : extra_end) {
        if (is_name(name)) return true;
    }
    return false;
}

ExprPtr Parser::parse_tuple(bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                            bool explicit_parentheses) {
    const uint32_t offset = cur().offset;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    for (;;) {
        if (!items.empty()) expect_op(",");
        if (is_tuple_end(extra_end)) break;
        items.push_back(parse_expression(with_condexpr));
        if (is_op(",")) {
            is_tuple = true;
        } else {
            break;
        }
    }
    if (!is_tuple) {
        if (!items.empty()) return std::move(items[0]);
        if (!explicit_parentheses) fail_unexpected();
    }
    auto node = std::make_unique<ListExpr>(offset, true);
    uint32_t h = 0;
    for (auto& i : items) h = std::max(h, i->depth);
    node->depth = h + 1;
    node->items = std::move(items);
    return node;
}

ExprPtr Parser::parse_condexpr() {
    DepthGuard guard(*this);
    ExprPtr expr = parse_or();
    while (skip_name("if")) {
        auto node = make<CondExprNode>(expr->offset);
        node->then = std::move(expr);
        node->test = parse_or();
        if (skip_name("else")) node->otherwise = parse_condexpr();
        check_height(*node, {node->then.get(), node->test.get(), node->otherwise.get()});
        expr = std::move(node);
    }
    return expr;
}

ExprPtr Parser::parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
        auto node = std::make_unique<BinaryExpr>(Expr::Kind::Or, cur().offset);
        advance();
        node->left = std::move(left);
        node->right = parse_and();
        check_height(*node, {node->left.get(), node->right.get()});
        left = std::move(node);
    }
    return left;
}

ExprPtr Parser::parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
        auto node = std::make_unique<BinaryExpr>(Expr::Kind::And, cur().offset);
        advance();
        node->left = std::move(left);
        node->right = parse_not();
        check_height(*node, {node->left.get(), node->right.get()});
        left = std::move(node);
    }
    return left;
}

ExprPtr Parser::parse_not() {
    if (is_name("not")) {
        DepthGuard guard(*this);
        auto node = std::make_unique<UnaryExpr>(Expr::Kind::Not, cur().offset);
        advance();
        node->operand = parse_not();
        check_height(*node, {node->operand.get()});
        return node;
    }
    return parse_compare();
}

ExprPtr Parser::parse_compare() {
    ExprPtr first = parse_math1();
    std::unique_ptr<CompareExpr> node;
    for (;;) {
        CompareKind kind;
        const uint32_t offset = cur().offset;
        if (cur().type == Tok::Op && cur().text == "==")
            kind = CompareKind::Eq;
        else if (cur().type == Tok::Op && cur().text == "!=")
            kind = CompareKind::Ne;
        else if (cur().type == Tok::Op && cur().text == "<")
            kind = CompareKind::Lt;
        else if (cur().type == Tok::Op && cur().text == "<=")
            kind = CompareKind::Le;
        else if (cur().type == Tok::Op && cur().text == ">")
            kind = CompareKind::Gt;
        else if (cur().type == Tok::Op && cur().text == ">=")
            kind = CompareKind::Ge;
        else if (is_name("in"))
            kind = CompareKind::In;
        else if (is_name("not") && look().type == Tok::Name && look().text == "in") {
            kind = CompareKind::NotIn;
            advance();
        } else {
            break;
        }
        advance();
        if (!node) {
            node = make<CompareExpr>(offset);
            node->first = std::move(first);
            node->depth = node->first->depth + 1;
        }
        node->rest.emplace_back(kind, parse_math1());
        // One above the deepest operand, kept as a running maximum: a long chain
        // (`1 < 1 < ... < 2`) is parsed in linear time.
        node->depth = std::max(node->depth, node->rest.back().second->depth + 1);
        if (node->depth > limits_.max_nesting) fail("expression nested too deeply", offset);
    }
    if (!node) return first;
    return node;
}

ExprPtr Parser::parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
        auto node = std::make_unique<BinaryExpr>(Expr::Kind::Binary, cur().offset);
        node->op = cur().text == "+" ? BinaryOp::Add : BinaryOp::Sub;
        advance();
        node->left = std::move(left);
        node->right = parse_concat();
        check_height(*node, {node->left.get(), node->right.get()});
        left = std::move(node);
    }
    return left;
}

ExprPtr Parser::parse_concat() {
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto node = make<ConcatExpr>(first->offset);
    node->parts.push_back(std::move(first));
    while (skip_op("~")) node->parts.push_back(parse_math2());
    uint32_t h = 0;
    for (auto& p : node->parts) h = std::max(h, p->depth);
    node->depth = h + 1;
    return node;
}

ExprPtr Parser::parse_math2() {
    ExprPtr left = parse_pow();
    for (;;) {
        BinaryOp op;
        if (is_op("*"))
            op = BinaryOp::Mul;
        else if (is_op("/"))
            op = BinaryOp::Div;
        else if (is_op("//"))
            op = BinaryOp::FloorDiv;
        else if (is_op("%"))
            op = BinaryOp::Mod;
        else
            break;
        auto node = std::make_unique<BinaryExpr>(Expr::Kind::Binary, cur().offset);
        node->op = op;
        advance();
        node->left = std::move(left);
        node->right = parse_pow();
        check_height(*node, {node->left.get(), node->right.get()});
        left = std::move(node);
    }
    return left;
}

ExprPtr Parser::parse_pow() {
    ExprPtr left = parse_unary();
    while (is_op("**")) {
        auto node = std::make_unique<BinaryExpr>(Expr::Kind::Binary, cur().offset);
        node->op = BinaryOp::Pow;
        advance();
        node->left = std::move(left);
        node->right = parse_unary();
        check_height(*node, {node->left.get(), node->right.get()});
        left = std::move(node);
    }
    return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
        auto u = std::make_unique<UnaryExpr>(is_op("-") ? Expr::Kind::Neg : Expr::Kind::Pos,
                                             cur().offset);
        advance();
        u->operand = parse_unary(false);
        check_height(*u, {u->operand.get()});
        node = std::move(u);
    } else {
        node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
}

ExprPtr Parser::parse_primary() {
    DepthGuard guard(*this);
    const Token& t = cur();
    const uint32_t offset = t.offset;
    switch (t.type) {
        case Tok::Name: {
            ExprPtr node;
            if (t.text == "true" || t.text == "True")
                node = std::make_unique<ConstExpr>(Value::boolean(true), offset);
            else if (t.text == "false" || t.text == "False")
                node = std::make_unique<ConstExpr>(Value::boolean(false), offset);
            else if (t.text == "none" || t.text == "None")
                node = std::make_unique<ConstExpr>(Value::none(), offset);
            else
                node = std::make_unique<NameExpr>(t.text, offset);
            advance();
            return node;
        }
        case Tok::String: {
            std::string s;
            while (cur().type == Tok::String) {  // adjacent literals concatenate
                s += cur().text;
                advance();
            }
            return std::make_unique<ConstExpr>(Value::string(std::move(s)), offset);
        }
        case Tok::Integer: {
            const std::string& text = t.text;
            int base = 10;
            std::string digits = text;
            if (text.size() > 2 && text[0] == '0' &&
                (text[1] == 'x' || text[1] == 'o' || text[1] == 'b')) {
                base = text[1] == 'x' ? 16 : text[1] == 'o' ? 8 : 2;
                digits = text.substr(2);
            }
            errno = 0;
            char* end = nullptr;
            const long long v = std::strtoll(digits.c_str(), &end, base);
            if (errno == ERANGE) fail("integer literal too large", offset);
            advance();
            return std::make_unique<ConstExpr>(Value::integer(v), offset);
        }
        case Tok::Float: {
            std::string clean;
            for (char c : t.text) {
                if (c != '_') clean += c;
            }
            advance();
            return std::make_unique<ConstExpr>(Value::number(std::strtod(clean.c_str(), nullptr)),
                                               offset);
        }
        case Tok::Op:
            if (t.text == "(") {
                advance();
                ExprPtr node = parse_tuple(true, {}, true);
                expect_op(")");
                return node;
            }
            if (t.text == "[") return parse_list();
            if (t.text == "{") return parse_dict();
            break;
        default:
            break;
    }
    fail_unexpected();
}

ExprPtr Parser::parse_list() {
    auto node = std::make_unique<ListExpr>(cur().offset, false);
    expect_op("[");
    uint32_t h = 0;
    while (!is_op("]")) {
        if (!node->items.empty()) expect_op(",");
        if (is_op("]")) break;
        node->items.push_back(parse_expression());
        h = std::max(h, node->items.back()->depth);
    }
    expect_op("]");
    node->depth = h + 1;
    return node;
}

ExprPtr Parser::parse_dict() {
    auto node = make<DictExpr>(cur().offset);
    expect_op("{");
    uint32_t h = 0;
    while (!is_op("}")) {
        if (!node->items.empty()) expect_op(",");
        if (is_op("}")) break;
        ExprPtr key = parse_expression();
        expect_op(":");
        ExprPtr value = parse_expression();
        h = std::max(h, std::max(key->depth, value->depth));
        node->items.emplace_back(std::move(key), std::move(value));
    }
    expect_op("}");
    node->depth = h + 1;
    return node;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
    for (;;) {
        if (is_op(".") || is_op("[")) {
            node = parse_subscript(std::move(node));
        } else if (is_op("(")) {
            node = parse_call(std::move(node));
        } else {
            return node;
        }
    }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
    for (;;) {
        if (is_op("|")) {
            while (skip_op("|")) {
                auto f = make<FilterExpr>(node->offset);
                f->filter = parse_one_filter();
                f->input = std::move(node);
                check_height(*f, {f->input.get()});
                node = std::move(f);
            }
        } else if (is_name("is")) {
            node = parse_test(std::move(node));
        } else if (is_op("(")) {
            node = parse_call(std::move(node));
        } else {
            return node;
        }
    }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
    const uint32_t offset = cur().offset;
    if (skip_op(".")) {
        if (cur().type == Tok::Name) {
            auto g = make<GetAttrExpr>(offset);
            g->name = cur().text;
            advance();
            g->object = std::move(node);
            check_height(*g, {g->object.get()});
            return g;
        }
        if (cur().type != Tok::Integer) fail("expected name or number", cur().offset);
        auto g = make<GetItemExpr>(offset);
        g->key = std::make_unique<ConstExpr>(
            Value::integer(std::strtoll(cur().text.c_str(), nullptr, 10)), cur().offset);
        advance();
        g->object = std::move(node);
        check_height(*g, {g->object.get()});
        return g;
    }
    expect_op("[");
    // One subscript (possibly a slice); several make a tuple key.
    std::vector<ExprPtr> keys;
    std::unique_ptr<SliceExpr> slice;
    while (!is_op("]")) {
        if (!keys.empty() || slice) expect_op(",");
        ExprPtr first;
        if (!is_op(":")) first = parse_expression();
        if (!is_op(":")) {
            keys.push_back(std::move(first));
            continue;
        }
        advance();  // ':'
        auto s = make<SliceExpr>(offset);
        s->start = std::move(first);
        if (!is_op(":") && !is_op("]") && !is_op(",")) s->stop = parse_expression();
        if (skip_op(":")) {
            if (!is_op("]") && !is_op(",")) s->step = parse_expression();
        }
        if (slice || !keys.empty()) fail("multi-dimensional slices are not supported", offset);
        slice = std::move(s);
    }
    expect_op("]");
    if (slice) {
        if (!keys.empty()) fail("multi-dimensional slices are not supported", offset);
        slice->object = std::move(node);
        check_height(*slice, {slice->object.get(), slice->start.get(), slice->stop.get(),
                              slice->step.get()});
        return slice;
    }
    if (keys.empty()) fail("expected subscript expression", offset);
    auto g = make<GetItemExpr>(offset);
    if (keys.size() == 1) {
        g->key = std::move(keys[0]);
    } else {
        auto t = std::make_unique<ListExpr>(offset, true);
        t->items = std::move(keys);
        g->key = std::move(t);
    }
    g->object = std::move(node);
    check_height(*g, {g->object.get(), g->key.get()});
    return g;
}

ExprPtr Parser::parse_call(ExprPtr node) {
    auto call = make<CallExpr>(cur().offset);
    call->args = parse_call_args();
    call->callee = std::move(node);
    uint32_t h = call->callee->depth;
    for (auto& a : call->args.positional) h = std::max(h, a->depth);
    for (auto& [k, a] : call->args.keyword) h = std::max(h, a->depth);
    call->depth = h + 1;
    if (call->depth > limits_.max_nesting) fail("expression nested too deeply", call->offset);
    return call;
}

Args Parser::parse_call_args() {
    Args args;
    const uint32_t offset = cur().offset;
    expect_op("(");
    bool require_comma = false;
    while (!is_op(")")) {
        if (require_comma) {
            expect_op(",");
            if (is_op(")")) break;  // trailing comma
        }
        if (is_op("*") || is_op("**"))
            fail("*args / **kwargs in calls are not supported", cur().offset);
        if (cur().type == Tok::Name && look().type == Tok::Op && look().text == "=") {
            std::string key = cur().text;
            advance();
            advance();
            args.keyword.emplace_back(std::move(key), parse_expression());
        } else {
            if (!args.keyword.empty()) fail("invalid syntax for function call expression", offset);
            args.positional.push_back(parse_expression());
        }
        require_comma = true;
    }
    expect_op(")");
    return args;
}

FilterCall Parser::parse_one_filter() {
    FilterCall f;
    f.offset = cur().offset;
    f.name = expect_name();
    while (skip_op(".")) f.name += "." + expect_name();
    f.fn = find_filter(f.name);
    if (!f.fn && !is_unsupported_filter(f.name))
        fail("No filter named '" + f.name + "'.", f.offset);
    if (is_op("(")) f.args = parse_call_args();
    return f;
}

ExprPtr Parser::parse_test(ExprPtr node) {
    auto t = make<TestExpr>(cur().offset);
    advance();  // 'is'
    if (skip_name("not")) t->negated = true;
    const uint32_t name_offset = cur().offset;
    t->name = expect_name();
    while (skip_op(".")) t->name += "." + expect_name();
    t->fn = find_test(t->name);
    if (!t->fn) fail("No test named '" + t->name + "'.", name_offset);
    const Tok type = cur().type;
    if (is_op("(")) {
        t->args = parse_call_args();
    } else if ((type == Tok::Name || type == Tok::String || type == Tok::Integer ||
                type == Tok::Float || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
        if (is_name("is")) fail("You cannot chain multiple tests with is", cur().offset);
        t->args.positional.push_back(parse_postfix(parse_primary()));
    }
    t->input = std::move(node);
    uint32_t h = t->input->depth;
    for (auto& a : t->args.positional) h = std::max(h, a->depth);
    t->depth = h + 1;
    if (t->depth > limits_.max_nesting) fail("expression nested too deeply", t->offset);
    return t;
}

}  // namespace pensieve::chat
