// Executes a parsed template against a context, with jinja2's scoping rules: `for`,
// macros and `with` open a new scope; `if` does not; `set` writes the current scope.
// One Interpreter serves one render and enforces the safety limits on it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/ast.hpp"
#include "chat/limits.hpp"
#include "chat/memory_budget.hpp"
#include "chat/value.hpp"

namespace pensieve::chat {

// A scope of variables; lookups fall through to the parent.
class Frame {
  public:
    explicit Frame(std::shared_ptr<Frame> parent) : parent_(std::move(parent)) {}
    const Value* find(std::string_view name) const;
    void set(std::string_view name, Value value);

  private:
    const Value* find_here(std::string_view name) const;
    std::shared_ptr<Frame> parent_;
    std::vector<std::pair<std::string, Value>> vars_;  // few per scope: linear is fastest
    // Names -> positions in vars_, once a scope has many (a macro of a hundred thousand
    // parameters, a template of as many `set`s): a search per name made binding them
    // quadratic, in one step the deadline never saw.
    std::map<std::string, std::size_t, std::less<>> index_;
    std::size_t name_bytes_ = 0;
    Charge charge_;  // vars_, their names and index_ against the render's memory budget
};
using FramePtr = std::shared_ptr<Frame>;

enum class Flow : uint8_t { Normal, Break, Continue };

class Interpreter {
  public:
    // `context` holds the render arguments (messages, tools, ...); `globals` the builtin
    // functions. Both outlive the interpreter.
    Interpreter(const Limits& limits, const DictData& context, const DictData& globals);
    ~Interpreter();
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;

    // Objects that can take part in reference cycles (namespaces, macros, loops) are
    // registered here and released when the render ends.
    void track(const std::shared_ptr<Object>& object) { tracked_.push_back(object); }

    // `root_undefined`: names the template scope binds to Undefined (scope_analysis.hpp).
    // The output keeps which bytes came from client strings (client_text.hpp).
    TrackedText render(const Body& body, const ScopeNames& root_undefined);

    // A new scope under `parent` with jinja2's statically-undefined names bound.
    FramePtr child_frame(const FramePtr& parent, const ScopeNames& undefined) const;
    static void bind_undefined(Frame& frame, const ScopeNames& undefined);

    // Used by statements, filters, macros and builtins.
    Value eval(const Expr& e, const FramePtr& f);
    Flow exec(const Body& body, const FramePtr& f);
    Value capture(const Body& body, const FramePtr& f);  // render into a str Value
    Value call_value(const Value& callee, CallArgs& args);
    Value apply_filters(const std::vector<FilterCall>& filters, Value input, const FramePtr& f);
    void assign(const Target& target, const Value& value, const FramePtr& f);
    void run_loop(const ForStmt& loop, const Value& iterable, const FramePtr& f, int depth);
    // Renders a recursive loop level (`loop(children)`) into a str Value.
    Value capture_loop(const ForStmt& loop, const Value& iterable, const FramePtr& f, int depth);

    const Limits& limits() const { return limits_; }
    void count_iteration();
    void check_deadline() const;  // TemplateLimitError once max_render_seconds have passed
    // check_deadline() on every 64th call: for inner loops of cheap steps (comparing
    // list items), where reading the clock each time would double their cost.
    void tick() const {
        if (++ticks_ % 64 == 0) check_deadline();
    }
    void write(std::string_view text);  // template text

    // Tracks macro call depth (recursion bound).
    struct CallGuard {
        explicit CallGuard(Interpreter& in);
        ~CallGuard() { --in.call_depth_; }
        Interpreter& in;
    };

  private:
    Value lookup(const std::string& name, const FramePtr& f) const;
    CallArgs eval_args(const Args& args, const FramePtr& f);
    Value eval_call(const CallExpr& call, const FramePtr& f);
    Value eval_compare(const CompareExpr& cmp, const FramePtr& f);
    Value eval_node(const Expr& e, const FramePtr& f);  // eval() without its checks
    Flow exec_stmt(const Stmt& s, const FramePtr& f);
    Flow exec_for(const ForStmt& s, const FramePtr& f);
    void emit_value(const Value& v);
    void charge_output();  // after out_ grew
    // Runs `fill` with the output redirected into a new buffer; returns it as a str.
    template <typename Fill>
    Value capture_into_string(Fill fill);

    const Limits& limits_;
    const DictData& context_;
    const DictData& globals_;
    TrackedText* out_ = nullptr;
    Charge* out_charge_ = nullptr;  // out_'s bytes against memory_
    std::size_t iterations_ = 0;
    std::size_t call_depth_ = 0;
    mutable uint32_t ticks_ = 0;
    std::chrono::steady_clock::time_point deadline_;
    std::shared_ptr<MemoryBudget> memory_;
    BudgetScope memory_scope_;  // what this render builds charges memory_
    std::vector<std::weak_ptr<Object>> tracked_;
};

}  // namespace pensieve::chat
