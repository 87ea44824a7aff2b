// Recursive-descent parser from tokens to the AST, following jinja2's grammar
// (jinja2/parser.py): the same operator precedence, the same statement forms, and the
// same load-time errors (unknown tags, filters and tests).
#pragma once

#include <string_view>
#include <vector>

#include "chat/ast.hpp"
#include "chat/lexer.hpp"
#include "chat/limits.hpp"

namespace pensieve::chat {

class Parser {
  public:
    Parser(std::vector<Token> tokens, const SourceMap& map, const Limits& limits)
        : tokens_(std::move(tokens)), map_(map), limits_(limits) {}

    // Throws TemplateSyntaxError naming line and column.
    Body parse_template();

  private:
    // Token stream.
    const Token& cur() const { return tokens_[pos_]; }
    const Token& look(std::size_t n = 1) const {
        return tokens_[std::min(pos_ + n, tokens_.size() - 1)];
    }
    void advance() {
        if (pos_ + 1 < tokens_.size()) ++pos_;
    }
    bool is_name(std::string_view v) const { return cur().type == Tok::Name && cur().text == v; }
    bool is_op(std::string_view v) const { return cur().type == Tok::Op && cur().text == v; }
    bool skip_name(std::string_view v);
    bool skip_op(std::string_view v);
    void expect_op(std::string_view v);
    void expect(Tok type, const char* what);
    std::string expect_name();
    [[noreturn]] void fail(const std::string& message, uint32_t offset) const;
    [[noreturn]] void fail_unexpected() const;

    // Nesting guard for blocks and expressions (hostile templates nest deeply).
    struct DepthGuard {
        explicit DepthGuard(Parser& p);
        ~DepthGuard() { --p.depth_; }
        Parser& p;
    };
    void check_height(Expr& e, std::initializer_list<const Expr*> children);

    // Statements (parser_stmt.cpp).
    Body subparse(std::initializer_list<std::string_view> end_names);
    Body parse_statements(std::initializer_list<std::string_view> end_names, bool drop_needle);
    StmtPtr parse_statement();
    StmtPtr parse_if();
    StmtPtr parse_for();
    StmtPtr parse_set();
    StmtPtr parse_macro();
    StmtPtr parse_call_block();
    StmtPtr parse_filter_block();
    StmtPtr parse_with();
    Target parse_assign_target(bool with_tuple, bool with_namespace,
                               std::initializer_list<std::string_view> extra_end = {});
    std::vector<MacroParam> parse_signature();

    // Expressions (parser_expr.cpp).
    ExprPtr parse_expression(bool with_condexpr = true);
    ExprPtr parse_tuple(bool with_condexpr = true,
                        std::initializer_list<std::string_view> extra_end = {},
                        bool explicit_parentheses = false);
    bool is_tuple_end(std::initializer_list<std::string_view> extra_end) const;
    ExprPtr parse_condexpr();
    ExprPtr parse_or();
    ExprPtr parse_and();
    ExprPtr parse_not();
    ExprPtr parse_compare();
    ExprPtr parse_math1();
    ExprPtr parse_concat();
    ExprPtr parse_math2();
    ExprPtr parse_pow();
    ExprPtr parse_unary(bool with_filter = true);
    ExprPtr parse_primary();
    ExprPtr parse_list();
    ExprPtr parse_dict();
    ExprPtr parse_postfix(ExprPtr node);
    ExprPtr parse_filter_expr(ExprPtr node);
    ExprPtr parse_subscript(ExprPtr node);
    ExprPtr parse_call(ExprPtr node);
    Args parse_call_args();
    FilterCall parse_one_filter();
    ExprPtr parse_test(ExprPtr node);

    std::vector<Token> tokens_;
    const SourceMap& map_;
    const Limits& limits_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;
    int loop_depth_ = 0;  // for break/continue outside a loop
};

}  // namespace pensieve::chat
