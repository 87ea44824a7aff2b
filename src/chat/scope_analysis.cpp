// Static scope analysis mirroring jinja2's Symbols / FrameSymbolVisitor. See the header.
#include "chat/scope_analysis.hpp"

#include <functional>
#include <map>
#include <set>

namespace pensieve::chat {

namespace {

enum class Load : uint8_t { Param, Resolve, Alias, Undefined };

struct Symbols {
    const Symbols* parent = nullptr;
    std::map<std::string, Load> refs;
    std::set<std::string> stores;

    bool has_ref(const std::string& name) const {
        for (const Symbols* s = this; s; s = s->parent) {
            if (s->refs.count(name)) return true;
        }
        return false;
    }
    bool parent_has_ref(const std::string& name) const { return parent && parent->has_ref(name); }
    void store(const std::string& name) {
        stores.insert(name);
        if (!refs.count(name)) refs[name] = parent_has_ref(name) ? Load::Alias : Load::Undefined;
    }
    void param(const std::string& name) {
        stores.insert(name);
        refs[name] = Load::Param;
    }
    void load(const std::string& name) {
        if (!has_ref(name)) refs[name] = Load::Resolve;
    }
    // After an if/elif/else: names set in only some branches resolve from outside.
    void branch_update(const std::vector<Symbols>& branches) {
        std::map<std::string, std::size_t> counts;
        for (const auto& b : branches) {
            for (const auto& name : b.stores) {
                if (!stores.count(name)) ++counts[name];
            }
        }
        for (const auto& b : branches) {
            for (const auto& [k, v] : b.refs) refs[k] = v;
            stores.insert(b.stores.begin(), b.stores.end());
        }
        for (const auto& [name, count] : counts) {
            if (count == branches.size()) continue;
            refs[name] = parent_has_ref(name) ? Load::Alias : Load::Resolve;
        }
    }
    ScopeNames undefined_names() const {
        ScopeNames out;
        for (const auto& [k, v] : refs) {
            if (v == Load::Undefined) out.push_back(k);
        }
        return out;
    }
};

// Visits one scope level; nested scopes are queued and analysed once this level is
// complete, because their aliasing depends on every name this level references.
class ScopeVisitor {
  public:
    explicit ScopeVisitor(Symbols& symbols) : sym_(&symbols) {}

    void body(const Body& stmts) {
        for (const auto& s : stmts) stmt(*s);
    }
    std::vector<std::function<void(const Symbols&)>>& nested() { return nested_; }

  private:
    void target(const Target& t) {
        switch (t.kind) {
            case Target::Kind::Name:
                sym_->store(t.name);
                break;
            case Target::Kind::Attr:
                sym_->load(t.name);
                break;
            case Target::Kind::Tuple:
                for (const auto& item : t.items) target(item);
                break;
        }
    }

    void args(const Args& a) {
        for (const auto& e : a.positional) expr(*e);
        for (const auto& [k, e] : a.keyword) expr(*e);
    }

    void expr(const Expr& e) {
        switch (e.kind) {
            case Expr::Kind::Const:
                return;
            case Expr::Kind::Name:
                sym_->load(static_cast<const NameExpr&>(e).name);
                return;
            case Expr::Kind::GetAttr:
                expr(*static_cast<const GetAttrExpr&>(e).object);
                return;
            case Expr::Kind::GetItem: {
                const auto& g = static_cast<const GetItemExpr&>(e);
                expr(*g.object);
                expr(*g.key);
                return;
            }
            case Expr::Kind::Slice: {
                const auto& s = static_cast<const SliceExpr&>(e);
                expr(*s.object);
                for (const Expr* p : {s.start.get(), s.stop.get(), s.step.get()}) {
                    if (p) expr(*p);
                }
                return;
            }
            case Expr::Kind::Call: {
                const auto& c = static_cast<const CallExpr&>(e);
                expr(*c.callee);
                args(c.args);
                return;
            }
            case Expr::Kind::Filter: {
                const auto& f = static_cast<const FilterExpr&>(e);
                expr(*f.input);
                args(f.filter.args);
                return;
            }
            case Expr::Kind::Test: {
                const auto& t = static_cast<const TestExpr&>(e);
                expr(*t.input);
                args(t.args);
                return;
            }
            case Expr::Kind::Neg:
            case Expr::Kind::Pos:
            case Expr::Kind::Not:
                expr(*static_cast<const UnaryExpr&>(e).operand);
                return;
            case Expr::Kind::Binary:
            case Expr::Kind::And:
            case Expr::Kind::Or: {
                const auto& b = static_cast<const BinaryExpr&>(e);
                expr(*b.left);
                expr(*b.right);
                return;
            }
            case Expr::Kind::Concat:
                for (const auto& p : static_cast<const ConcatExpr&>(e).parts) expr(*p);
                return;
            case Expr::Kind::Compare: {
                const auto& c = static_cast<const CompareExpr&>(e);
                expr(*c.first);
                for (const auto& [k, p] : c.rest) expr(*p);
                return;
            }
            case Expr::Kind::CondExpr: {
                // jinja2 visits fields in order: test, expr1 (then), expr2 (else).
                const auto& c = static_cast<const CondExprNode&>(e);
                expr(*c.test);
                expr(*c.then);
                if (c.otherwise) expr(*c.otherwise);
                return;
            }
            case Expr::Kind::List:
                for (const auto& i : static_cast<const ListExpr&>(e).items) expr(*i);
                return;
            case Expr::Kind::Dict:
                for (const auto& [k, v] : static_cast<const DictExpr&>(e).items) {
                    expr(*k);
                    expr(*v);
                }
                return;
        }
    }

    // Visits statements on a copy of the symbols (one if-branch).
    Symbols branch(const std::function<void()>& visit) {
        Symbols* original = sym_;
        Symbols copy = *original;
        sym_ = &copy;
        visit();
        sym_ = original;
        return copy;
    }

    // An elif chain as jinja2 nests it: If(test, body, elif=[], else=[]) per elif.
    void elif_chain(const IfStmt& s, std::size_t from) {
        for (std::size_t i = from; i < s.branches.size(); ++i) {
            expr(*s.branches[i].first);
            Symbols body_sym = branch([&] { body(s.branches[i].second); });
            Symbols empty1 = branch([] {});
            Symbols empty2 = branch([] {});
            sym_->branch_update({body_sym, empty1, empty2});
        }
    }

    template <typename Node>
    void nested_scope(Node& node, Body& scope_body, ScopeNames& out,
                      std::function<void(Symbols&)> params = {}) {
        nested_.push_back([&node, &scope_body, &out, params](const Symbols& parent) {
            (void)node;
            Symbols child;
            child.parent = &parent;
            if (params) params(child);
            out = analyze(child, scope_body);
        });
    }

    void stmt(Stmt& s) {
        switch (s.kind) {
            case Stmt::Kind::Text:
            case Stmt::Kind::Break:
            case Stmt::Kind::Continue:
                return;
            case Stmt::Kind::Emit:
                expr(*static_cast<EmitStmt&>(s).expr);
                return;
            case Stmt::Kind::If: {
                auto& node = static_cast<IfStmt&>(s);
                expr(*node.branches[0].first);
                Symbols body_sym = branch([&] { body(node.branches[0].second); });
                Symbols elif_sym = branch([&] { elif_chain(node, 1); });
                Symbols else_sym = branch([&] { body(node.otherwise); });
                sym_->branch_update({body_sym, elif_sym, else_sym});
                return;
            }
            case Stmt::Kind::For: {
                auto& node = static_cast<ForStmt&>(s);
                expr(*node.iter);
                const Target* t = &node.target;
                nested_scope(node, node.body, node.body_undefined, [t](Symbols& child) {
                    std::function<void(const Target&)> declare = [&](const Target& x) {
                        if (x.kind == Target::Kind::Tuple) {
                            for (const auto& i : x.items) declare(i);
                        } else {
                            child.param(x.name);
                        }
                    };
                    declare(*t);
                });
                nested_scope(node, node.otherwise, node.otherwise_undefined);
                return;
            }
            case Stmt::Kind::Set: {
                auto& node = static_cast<SetStmt&>(s);
                expr(*node.value);
                target(node.target);
                return;
            }
            case Stmt::Kind::SetBlock: {
                auto& node = static_cast<SetBlockStmt&>(s);
                target(node.target);
                nested_scope(node, node.body, node.body_undefined);
                return;
            }
            case Stmt::Kind::Macro: {
                auto& node = static_cast<MacroStmt&>(s);
                sym_->store(node.name);
                auto* params = &node.params;
                nested_scope(node, node.body, node.body_undefined, [params](Symbols& child) {
                    for (const auto& p : *params) child.param(p.name);
                });
                return;
            }
            case Stmt::Kind::CallBlock: {
                auto& node = static_cast<CallBlockStmt&>(s);
                expr(*node.call);
                auto* params = &node.caller_params;
                nested_scope(node, node.body, node.body_undefined, [params](Symbols& child) {
                    for (const auto& p : *params) child.param(p.name);
                });
                return;
            }
            case Stmt::Kind::FilterBlock: {
                auto& node = static_cast<FilterBlockStmt&>(s);
                for (const auto& f : node.filters) args(f.args);
                nested_scope(node, node.body, node.body_undefined);
                return;
            }
            case Stmt::Kind::With: {
                auto& node = static_cast<WithStmt&>(s);
                for (const auto& [t, value] : node.assignments) expr(*value);
                auto* assignments = &node.assignments;
                nested_scope(node, node.body, node.body_undefined, [assignments](Symbols& child) {
                    for (const auto& [t, value] : *assignments) child.param(t.name);
                });
                return;
            }
            case Stmt::Kind::Generation: {
                auto& node = static_cast<GenerationStmt&>(s);
                nested_scope(node, node.body, node.body_undefined);
                return;
            }
        }
    }

  public:
    static ScopeNames analyze(Symbols& symbols, Body& stmts) {
        ScopeVisitor v(symbols);
        v.body(stmts);
        for (auto& job : v.nested_) job(symbols);
        return symbols.undefined_names();
    }

  private:
    Symbols* sym_;
    std::vector<std::function<void(const Symbols&)>> nested_;
};

}  // namespace

ScopeNames analyze_scopes(Body& root) {
    Symbols symbols;
    return ScopeVisitor::analyze(symbols, root);
}

}  // namespace pensieve::chat
