// Statement grammar and the token-stream helpers of the parser. See parser.hpp.
#include "chat/builtins.hpp"
#include "chat/error.hpp"
#include "chat/parser.hpp"

namespace pensieve::chat {

Parser::DepthGuard::DepthGuard(Parser& parser) : p(parser) {
    if (++p.depth_ > p.limits_.max_nesting) {
        p.fail("template nested too deeply", p.cur().offset);
    }
}

bool Parser::skip_name(std::string_view v) {
    if (!is_name(v)) return false;
    advance();
    return true;
}

bool Parser::skip_op(std::string_view v) {
    if (!is_op(v)) return false;
    advance();
    return true;
}

void Parser::fail(const std::string& message, uint32_t offset) const {
    auto [line, col] = map_.position(offset);
    throw TemplateSyntaxError(message, line, col);
}

namespace {

std::string describe(const Token& t) {
    switch (t.type) {
        case Tok::Eof:
            return "end of template";
        case Tok::BlockEnd:
            return "end of statement block";
        case Tok::VarEnd:
            return "end of print statement";
        case Tok::BlockBegin:
            return "begin of statement block";
        case Tok::VarBegin:
            return "begin of print statement";
        case Tok::Text:
            return "template data";
        case Tok::String:
            return "string";
        case Tok::Integer:
            return "integer";
        case Tok::Float:
            return "float";
        default:
            return t.text;
    }
}

}  // namespace

void Parser::fail_unexpected() const {
    fail("unexpected '" + describe(cur()) + "'", cur().offset);
}

void Parser::expect_op(std::string_view v) {
    if (!skip_op(v)) {
        fail("expected token '" + std::string(v) + "', got '" + describe(cur()) + "'",
             cur().offset);
    }
}

void Parser::expect(Tok type, const char* what) {
    if (cur().type != type) {
        fail(std::string("expected token '") + what + "', got '" + describe(cur()) + "'",
             cur().offset);
    }
    advance();
}

std::string Parser::expect_name() {
    if (cur().type != Tok::Name) {
        fail("expected token 'name', got '" + describe(cur()) + "'", cur().offset);
    }
    std::string n = cur().text;
    advance();
    return n;
}

Body Parser::parse_template() {
    Body body = subparse({});
    if (cur().type != Tok::Eof) fail_unexpected();
    return body;
}

Body Parser::subparse(std::initializer_list<std::string_view> end_names) {
    Body body;
    for (;;) {
        const Token& t = cur();
        if (t.type == Tok::Eof) return body;
        if (t.type == Tok::Text) {
            body.push_back(std::make_unique<TextStmt>(t.text, t.offset));
            advance();
        } else if (t.type == Tok::VarBegin) {
            auto emit = std::make_unique<EmitStmt>(t.offset);
            advance();
            emit->expr = parse_tuple();
            expect(Tok::VarEnd, "end of print statement");
            body.push_back(std::move(emit));
        } else if (t.type == Tok::BlockBegin) {
            advance();
            for (auto name : end_names) {
                if (is_name(name)) return body;
            }
            body.push_back(parse_statement());
            expect(Tok::BlockEnd, "end of statement block");
        } else {
            fail_unexpected();
        }
    }
}

Body Parser::parse_statements(std::initializer_list<std::string_view> end_names, bool drop_needle) {
    skip_op(":");
    expect(Tok::BlockEnd, "end of statement block");
    DepthGuard guard(*this);
    Body body = subparse(end_names);
    if (cur().type == Tok::Eof) {
        std::string expected;
        for (auto n : end_names)
            expected += (expected.empty() ? "'" : " or '") + std::string(n) + "'";
        fail("Unexpected end of template. Jinja was looking for the following tags: " + expected +
                 ".",
             cur().offset);
    }
    if (drop_needle) advance();
    return body;
}

StmtPtr Parser::parse_statement() {
    if (cur().type != Tok::Name) fail("tag name expected", cur().offset);
    const std::string& tag = cur().text;
    const uint32_t offset = cur().offset;
    if (tag == "if") return parse_if();
    if (tag == "for") return parse_for();
    if (tag == "set") return parse_set();
    if (tag == "macro") return parse_macro();
    if (tag == "call") return parse_call_block();
    if (tag == "filter") return parse_filter_block();
    if (tag == "with") return parse_with();
    if (tag == "print") {
        advance();
        auto emit = std::make_unique<EmitStmt>(offset);
        emit->expr = parse_tuple();
        return emit;
    }
    if (tag == "break" || tag == "continue") {
        if (loop_depth_ == 0) fail("'" + tag + "' outside loop", offset);
        const auto kind = tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
        advance();
        return std::make_unique<LoopControlStmt>(kind, offset);
    }
    if (tag == "generation") {
        advance();
        auto gen = std::make_unique<GenerationStmt>(offset);
        gen->body = parse_statements({"endgeneration"}, true);
        return gen;
    }
    if (tag == "block" || tag == "extends" || tag == "include" || tag == "import" ||
        tag == "from" || tag == "autoescape") {
        fail("tag '" + tag + "' is not supported in chat templates", offset);
    }
    fail("Encountered unknown tag '" + tag + "'.", offset);
}

StmtPtr Parser::parse_if() {
    auto node = std::make_unique<IfStmt>(cur().offset);
    advance();  // if
    for (;;) {
        ExprPtr test = parse_tuple(false);
        Body body = parse_statements({"elif", "else", "endif"}, false);
        node->branches.emplace_back(std::move(test), std::move(body));
        const std::string word = cur().text;
        advance();
        if (word == "elif") continue;
        if (word == "else") node->otherwise = parse_statements({"endif"}, true);
        break;
    }
    return node;
}

StmtPtr Parser::parse_for() {
    auto node = std::make_unique<ForStmt>(cur().offset);
    advance();  // for
    node->target = parse_assign_target(true, false, {"in"});
    if (!skip_name("in")) fail("expected token 'in', got '" + describe(cur()) + "'", cur().offset);
    node->iter = parse_tuple(false, {"recursive"});
    if (skip_name("if")) node->filter = parse_expression();
    node->recursive = skip_name("recursive");
    ++loop_depth_;
    node->body = parse_statements({"endfor", "else"}, false);
    --loop_depth_;
    const std::string word = cur().text;
    advance();
    if (word == "else") node->otherwise = parse_statements({"endfor"}, true);
    return node;
}

Target Parser::parse_assign_target(bool with_tuple, bool with_namespace,
                                   std::initializer_list<std::string_view> extra_end) {
    Target target;
    if (with_namespace && cur().type == Tok::Name && look().type == Tok::Op && look().text == ".") {
        target.kind = Target::Kind::Attr;
        target.name = expect_name();
        advance();  // '.'
        target.attr = expect_name();
        return target;
    }
    // A name, or names separated by commas (optionally in parentheses), to unpack.
    auto one = [&](auto&& self) -> Target {
        if (skip_op("(")) {
            Target t;
            t.kind = Target::Kind::Tuple;
            while (!is_op(")")) {
                if (!t.items.empty()) expect_op(",");
                if (is_op(")")) break;
                t.items.push_back(self(self));
            }
            expect_op(")");
            return t;
        }
        const uint32_t offset = cur().offset;
        Target t;
        t.name = expect_name();
        if (t.name == "true" || t.name == "false" || t.name == "none" || t.name == "True" ||
            t.name == "False" || t.name == "None") {
            fail("Can't assign to constant '" + t.name + "'", offset);
        }
        return t;
    };
    target = one(one);
    if (!with_tuple || !is_op(",")) return target;
    Target tuple;
    tuple.kind = Target::Kind::Tuple;
    tuple.items.push_back(std::move(target));
    while (skip_op(",")) {
        bool end = cur().type == Tok::BlockEnd || is_op("=");
        for (auto n : extra_end) end = end || is_name(n);
        if (end) break;
        tuple.items.push_back(one(one));
    }
    return tuple;
}

StmtPtr Parser::parse_set() {
    const uint32_t offset = cur().offset;
    advance();  // set
    Target target = parse_assign_target(true, true);
    if (skip_op("=")) {
        auto node = std::make_unique<SetStmt>(offset);
        node->target = std::move(target);
        node->value = parse_tuple();
        return node;
    }
    auto node = std::make_unique<SetBlockStmt>(offset);
    node->target = std::move(target);
    while (skip_op("|")) node->filters.push_back(parse_one_filter());
    node->body = parse_statements({"endset"}, true);
    return node;
}

std::vector<MacroParam> Parser::parse_signature() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
        if (!params.empty()) expect_op(",");
        MacroParam p;
        const uint32_t offset = cur().offset;
        p.name = expect_name();
        if (skip_op("=")) {
            p.default_value = parse_expression();
        } else if (!params.empty() && params.back().default_value) {
            fail("non-default argument follows default argument", offset);
        }
        params.push_back(std::move(p));
    }
    expect_op(")");
    return params;
}

StmtPtr Parser::parse_macro() {
    auto node = std::make_unique<MacroStmt>(cur().offset);
    advance();  // macro
    node->name = expect_name();
    node->params = parse_signature();
    const int saved = loop_depth_;
    loop_depth_ = 0;
    node->body = parse_statements({"endmacro"}, true);
    loop_depth_ = saved;
    return node;
}

StmtPtr Parser::parse_call_block() {
    auto node = std::make_unique<CallBlockStmt>(cur().offset);
    advance();  // call
    if (is_op("(")) node->caller_params = parse_signature();
    node->call = parse_expression();
    if (node->call->kind != Expr::Kind::Call) fail("expected call", node->offset);
    const int saved = loop_depth_;
    loop_depth_ = 0;
    node->body = parse_statements({"endcall"}, true);
    loop_depth_ = saved;
    return node;
}

StmtPtr Parser::parse_filter_block() {
    auto node = std::make_unique<FilterBlockStmt>(cur().offset);
    advance();  // filter
    node->filters.push_back(parse_one_filter());
    while (skip_op("|")) node->filters.push_back(parse_one_filter());
    node->body = parse_statements({"endfilter"}, true);
    return node;
}

StmtPtr Parser::parse_with() {
    auto node = std::make_unique<WithStmt>(cur().offset);
    advance();  // with
    while (cur().type != Tok::BlockEnd && cur().type != Tok::Eof) {
        if (!node->assignments.empty()) expect_op(",");
        Target t = parse_assign_target(false, false);
        expect_op("=");
        node->assignments.emplace_back(std::move(t), parse_expression());
    }
    node->body = parse_statements({"endwith"}, true);
    return node;
}

}  // namespace pensieve::chat
