// The parsed form of a template: expressions and statements as plain data. The parser
// builds it once at model load; renders only read it, so one Template can serve many
// requests at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/ops.hpp"
#include "chat/value.hpp"

namespace pensieve::chat {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Builtin filter / test implementations (filters.cpp, tests.cpp), resolved at parse time
// so an unknown name is a load-time error, as in jinja2.
using FilterFn = Value (*)(Interpreter& in, const Value& input, CallArgs& args);
using TestFn = bool (*)(Interpreter& in, const Value& input, CallArgs& args);

struct Args {
    std::vector<ExprPtr> positional;
    std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct Expr {
    enum class Kind : uint8_t {
        Const,
        Name,
        GetAttr,
        GetItem,
        Slice,
        Call,
        Filter,
        Test,
        Neg,
        Pos,
        Not,
        Binary,
        And,
        Or,
        Concat,
        Compare,
        CondExpr,
        List,
        Dict,
    };
    Expr(Kind k, uint32_t off) : kind(k), offset(off) {}
    virtual ~Expr() = default;
    Kind kind;
    uint32_t offset;     // source position, for errors
    uint32_t depth = 1;  // height of this subtree (bounded by Limits::max_nesting)
};

struct ConstExpr : Expr {
    ConstExpr(Value v, uint32_t off) : Expr(Kind::Const, off), value(std::move(v)) {}
    Value value;
};

struct NameExpr : Expr {
    NameExpr(std::string n, uint32_t off) : Expr(Kind::Name, off), name(std::move(n)) {}
    std::string name;
};

struct GetAttrExpr : Expr {
    GetAttrExpr(uint32_t off) : Expr(Kind::GetAttr, off) {}
    ExprPtr object;
    std::string name;
};

struct GetItemExpr : Expr {
    GetItemExpr(uint32_t off) : Expr(Kind::GetItem, off) {}
    ExprPtr object;
    ExprPtr key;
};

struct SliceExpr : Expr {
    SliceExpr(uint32_t off) : Expr(Kind::Slice, off) {}
    ExprPtr object;
    ExprPtr start, stop, step;  // null when omitted
};

struct CallExpr : Expr {
    CallExpr(uint32_t off) : Expr(Kind::Call, off) {}
    ExprPtr callee;
    Args args;
};

struct FilterCall {
    std::string name;
    FilterFn fn = nullptr;
    Args args;
    uint32_t offset = 0;
};

struct FilterExpr : Expr {
    FilterExpr(uint32_t off) : Expr(Kind::Filter, off) {}
    ExprPtr input;
    FilterCall filter;
};

struct TestExpr : Expr {
    TestExpr(uint32_t off) : Expr(Kind::Test, off) {}
    ExprPtr input;
    std::string name;
    TestFn fn = nullptr;
    Args args;
    bool negated = false;
};

struct UnaryExpr : Expr {  // Neg, Pos, Not
    UnaryExpr(Kind k, uint32_t off) : Expr(k, off) {}
    ExprPtr operand;
};

struct BinaryExpr : Expr {  // Binary (arithmetic), And, Or
    BinaryExpr(Kind k, uint32_t off) : Expr(k, off) {}
    BinaryOp op = BinaryOp::Add;
    ExprPtr left, right;
};

struct ConcatExpr : Expr {  // a ~ b ~ c
    ConcatExpr(uint32_t off) : Expr(Kind::Concat, off) {}
    std::vector<ExprPtr> parts;
};

enum class CompareKind : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct CompareExpr : Expr {
    CompareExpr(uint32_t off) : Expr(Kind::Compare, off) {}
    ExprPtr first;
    std::vector<std::pair<CompareKind, ExprPtr>> rest;
};

struct CondExprNode : Expr {  // then if test else otherwise
    CondExprNode(uint32_t off) : Expr(Kind::CondExpr, off) {}
    ExprPtr test, then, otherwise;  // otherwise may be null (-> Undefined)
};

struct ListExpr : Expr {
    ListExpr(uint32_t off, bool t) : Expr(Kind::List, off), tuple(t) {}
    std::vector<ExprPtr> items;
    bool tuple;
};

struct DictExpr : Expr {
    DictExpr(uint32_t off) : Expr(Kind::Dict, off) {}
    std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

// Left side of set / for / with: a name, `ns.attr`, or a tuple to unpack.
struct Target {
    enum class Kind : uint8_t { Name, Attr, Tuple };
    Kind kind = Kind::Name;
    std::string name;
    std::string attr;           // Kind::Attr
    std::vector<Target> items;  // Kind::Tuple
};

struct MacroParam {
    std::string name;
    ExprPtr default_value;  // null when required
};

// Names a scope binds to Undefined on entry (see scope_analysis.hpp).
using ScopeNames = std::vector<std::string>;

struct Stmt {
    enum class Kind : uint8_t {
        Text,
        Emit,
        If,
        For,
        Set,
        SetBlock,
        Macro,
        CallBlock,
        FilterBlock,
        With,
        Break,
        Continue,
        Generation,
    };
    Stmt(Kind k, uint32_t off) : kind(k), offset(off) {}
    virtual ~Stmt() = default;
    Kind kind;
    uint32_t offset;
};

struct TextStmt : Stmt {
    TextStmt(std::string t, uint32_t off) : Stmt(Kind::Text, off), text(std::move(t)) {}
    std::string text;
};

struct EmitStmt : Stmt {
    EmitStmt(uint32_t off) : Stmt(Kind::Emit, off) {}
    ExprPtr expr;
};

struct IfStmt : Stmt {
    IfStmt(uint32_t off) : Stmt(Kind::If, off) {}
    std::vector<std::pair<ExprPtr, Body>> branches;  // if + elifs
    Body otherwise;
};

struct ForStmt : Stmt {
    ForStmt(uint32_t off) : Stmt(Kind::For, off) {}
    Target target;
    ExprPtr iter;
    ExprPtr filter;  // `for x in xs if cond`; may be null
    Body body, otherwise;
    bool recursive = false;
    ScopeNames body_undefined, otherwise_undefined;
};

struct SetStmt : Stmt {
    SetStmt(uint32_t off) : Stmt(Kind::Set, off) {}
    Target target;
    ExprPtr value;
};

struct SetBlockStmt : Stmt {
    SetBlockStmt(uint32_t off) : Stmt(Kind::SetBlock, off) {}
    Target target;
    std::vector<FilterCall> filters;
    Body body;
    ScopeNames body_undefined;
};

struct MacroStmt : Stmt {
    MacroStmt(uint32_t off) : Stmt(Kind::Macro, off) {}
    std::string name;
    std::vector<MacroParam> params;
    Body body;
    ScopeNames body_undefined;
};

struct CallBlockStmt : Stmt {
    CallBlockStmt(uint32_t off) : Stmt(Kind::CallBlock, off) {}
    std::vector<MacroParam> caller_params;
    ExprPtr call;  // a CallExpr
    Body body;     // the `caller()` body
    ScopeNames body_undefined;
};

struct FilterBlockStmt : Stmt {
    FilterBlockStmt(uint32_t off) : Stmt(Kind::FilterBlock, off) {}
    std::vector<FilterCall> filters;
    Body body;
    ScopeNames body_undefined;
};

struct WithStmt : Stmt {
    WithStmt(uint32_t off) : Stmt(Kind::With, off) {}
    std::vector<std::pair<Target, ExprPtr>> assignments;
    Body body;
    ScopeNames body_undefined;
};

struct GenerationStmt : Stmt {  // transformers' {% generation %}: renders its body as is
    GenerationStmt(uint32_t off) : Stmt(Kind::Generation, off) {}
    Body body;
    ScopeNames body_undefined;  // jinja2 runs the body as a call block: its own scope
};

struct LoopControlStmt : Stmt {  // Break / Continue
    LoopControlStmt(Kind k, uint32_t off) : Stmt(k, off) {}
};

}  // namespace pensieve::chat
