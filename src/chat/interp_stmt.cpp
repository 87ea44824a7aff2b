// Statement execution, scopes and the safety bounds. See interp.hpp.
#include <algorithm>

#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/objects.hpp"
#include "chat/ops.hpp"

namespace pensieve::chat {

namespace {

constexpr std::size_t kFrameIndexThreshold = 32;   // scopes past this many names get an index
constexpr std::size_t kFrameIndexEntryBytes = 96;  // a tree node with its name and position

}  // namespace

const Value* Frame::find_here(std::string_view name) const {
    if (vars_.size() > kFrameIndexThreshold) {
        const auto it = index_.find(name);
        return it == index_.end() ? nullptr : &vars_[it->second].second;
    }
    for (const auto& [k, v] : vars_) {
        if (k == name) return &v;
    }
    return nullptr;
}

const Value* Frame::find(std::string_view name) const {
    for (const Frame* f = this; f; f = f->parent_.get()) {
        if (const Value* v = f->find_here(name)) return v;
    }
    return nullptr;
}

void Frame::set(std::string_view name, Value value) {
    if (const Value* v = find_here(name)) {
        *const_cast<Value*>(v) = std::move(value);
        return;
    }
    vars_.emplace_back(std::string(name), std::move(value));
    if (vars_.size() == kFrameIndexThreshold + 1) {
        for (std::size_t i = 0; i < vars_.size(); ++i) index_.emplace(vars_[i].first, i);
    } else if (vars_.size() > kFrameIndexThreshold + 1) {
        index_.emplace(vars_.back().first, vars_.size() - 1);
    }
    name_bytes_ += name.size();
    charge_.set(vars_.capacity() * sizeof(vars_[0]) + name_bytes_ +
                index_.size() * kFrameIndexEntryBytes);
}

Interpreter::Interpreter(const Limits& limits, const DictData& context, const DictData& globals)
    : limits_(limits),
      context_(context),
      globals_(globals),
      deadline_(std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(std::min(limits.max_render_seconds, 1e9)))),
      memory_(std::make_shared<MemoryBudget>(limits.max_live_bytes)),
      memory_scope_(memory_) {}

Interpreter::~Interpreter() {
    for (auto& weak : tracked_) {
        if (auto object = weak.lock()) object->release_references();
    }
}

Interpreter::CallGuard::CallGuard(Interpreter& interp) : in(interp) {
    if (++in.call_depth_ > in.limits_.max_call_depth) {
        --in.call_depth_;
        throw TemplateLimitError("maximum recursion depth exceeded in template");
    }
}

void Interpreter::count_iteration() {
    if (++iterations_ > limits_.max_loop_iterations) {
        throw TemplateLimitError("template exceeded the loop iteration limit");
    }
    check_deadline();
}

// Called for every statement, loop iteration and expression evaluated, so a
// render ends within one step of its deadline (a clock read costs ~20 ns).
void Interpreter::check_deadline() const {
    if (std::chrono::steady_clock::now() > deadline_) {
        throw TemplateLimitError("template rendering exceeded the time limit");
    }
}

void Interpreter::write(std::string_view text) {
    if (out_->size() + text.size() > limits_.max_output_bytes) {
        throw TemplateLimitError("template output exceeds the size limit");
    }
    out_->append(text);
    charge_output();
}

void Interpreter::emit_value(const Value& v) {
    if (v.is_string()) {
        if (out_->size() + v.str().size() > limits_.max_output_bytes) {
            throw TemplateLimitError("template output exceeds the size limit");
        }
        out_->append(v);
    } else {
        append_str(*out_, v, limits_.max_value_depth, limits_.max_output_bytes);
        if (out_->size() > limits_.max_output_bytes) {
            throw TemplateLimitError("template output exceeds the size limit");
        }
    }
    charge_output();
}

// Output buffers count while they fill: a macro that recurses after printing holds one
// per level.
void Interpreter::charge_output() {
    out_charge_->set(out_->text.capacity() + out_->client.ranges().capacity() * sizeof(ByteRange));
}

void Interpreter::bind_undefined(Frame& frame, const ScopeNames& undefined) {
    for (const auto& name : undefined)
        frame.set(name, Value::undefined("'" + name + "' is undefined"));
}

FramePtr Interpreter::child_frame(const FramePtr& parent, const ScopeNames& undefined) const {
    auto frame = std::make_shared<Frame>(parent);
    bind_undefined(*frame, undefined);
    return frame;
}

TrackedText Interpreter::render(const Body& body, const ScopeNames& root_undefined) {
    TrackedText out;
    Charge out_charge;
    out_ = &out;
    out_charge_ = &out_charge;
    auto root = child_frame(nullptr, root_undefined);
    exec(body, root);
    out_ = nullptr;
    out_charge_ = nullptr;
    return out;
}

template <typename Fill>
Value Interpreter::capture_into_string(Fill fill) {
    TrackedText buffer;
    Charge buffer_charge;
    TrackedText* saved = out_;
    Charge* saved_charge = out_charge_;
    out_ = &buffer;
    out_charge_ = &buffer_charge;
    try {
        fill();
    } catch (...) {
        out_ = saved;
        out_charge_ = saved_charge;
        throw;
    }
    out_ = saved;
    out_charge_ = saved_charge;
    return Value::string(std::move(buffer));
}

Value Interpreter::capture(const Body& body, const FramePtr& f) {
    return capture_into_string([&] { exec(body, f); });
}

Flow Interpreter::exec(const Body& body, const FramePtr& f) {
    for (const auto& s : body) {
        check_deadline();
        const Flow flow = exec_stmt(*s, f);
        if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
}

void Interpreter::assign(const Target& target, const Value& value, const FramePtr& f) {
    switch (target.kind) {
        case Target::Kind::Name:
            f->set(target.name, value);
            return;
        case Target::Kind::Attr: {
            const Value* ns = f->find(target.name);
            if (!ns) ns = context_.find(std::string_view(target.name));
            if (!ns || !ns->is_object() || !ns->object().set_attr(target.attr, value)) {
                throw TemplateRenderError("cannot assign attribute on non-namespace object");
            }
            return;
        }
        case Target::Kind::Tuple: {
            const std::vector<Value> items = iterate(value, limits_.max_output_bytes);
            if (items.size() != target.items.size()) {
                throw TemplateRenderError(items.size() > target.items.size()
                                              ? "too many values to unpack (expected " +
                                                    std::to_string(target.items.size()) + ")"
                                              : "not enough values to unpack (expected " +
                                                    std::to_string(target.items.size()) + ", got " +
                                                    std::to_string(items.size()) + ")");
            }
            for (std::size_t i = 0; i < items.size(); ++i) assign(target.items[i], items[i], f);
            return;
        }
    }
}

Value Interpreter::apply_filters(const std::vector<FilterCall>& filters, Value input,
                                 const FramePtr& f) {
    for (const auto& filter : filters) {
        if (!filter.fn) throw TemplateRenderError("filter '" + filter.name + "' is not supported");
        CallArgs args = eval_args(filter.args, f);
        input = filter.fn(*this, input, args);
    }
    return input;
}

void Interpreter::run_loop(const ForStmt& s, const Value& iterable, const FramePtr& f, int depth) {
    std::vector<Value> items = iterate(iterable, limits_.max_output_bytes);
    if (s.filter) {
        // `for x in xs if cond`: filtered first, so loop.length/last see only kept items.
        // The kept items move to the front of the copy, which counts while `cond` runs.
        Charge items_charge;
        items_charge.set(items.capacity() * sizeof(Value));
        auto probe = std::make_shared<Frame>(f);
        std::size_t kept = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            count_iteration();
            assign(s.target, items[i], probe);
            if (!truthy(eval(*s.filter, probe))) continue;
            if (kept != i) items[kept] = std::move(items[i]);
            ++kept;
        }
        items.resize(kept);
    }
    auto loop =
        std::make_shared<LoopObject>(std::move(items), depth, s.recursive ? &s : nullptr, f);
    track(loop);
    const Value loop_value = Value::object(loop);
    const auto& list = loop->items();
    for (std::size_t i = 0; i < list.size(); ++i) {
        count_iteration();
        loop->set_index(i);
        // jinja2 starts every iteration from the enclosing scope: a `set` in the body
        // is not seen by the next iteration (hence namespace() in real templates).
        auto frame = child_frame(f, s.body_undefined);
        assign(s.target, list[i], frame);
        frame->set("loop", loop_value);
        if (exec(s.body, frame) == Flow::Break) break;
    }
    if (list.empty()) exec(s.otherwise, child_frame(f, s.otherwise_undefined));
}

Value Interpreter::capture_loop(const ForStmt& s, const Value& iterable, const FramePtr& f,
                                int depth) {
    return capture_into_string([&] { run_loop(s, iterable, f, depth); });
}

Flow Interpreter::exec_for(const ForStmt& s, const FramePtr& f) {
    run_loop(s, eval(*s.iter, f), f, 1);
    return Flow::Normal;
}

Flow Interpreter::exec_stmt(const Stmt& s, const FramePtr& f) {
    switch (s.kind) {
        case Stmt::Kind::Text:
            write(static_cast<const TextStmt&>(s).text);
            return Flow::Normal;
        case Stmt::Kind::Emit:
            emit_value(eval(*static_cast<const EmitStmt&>(s).expr, f));
            return Flow::Normal;
        case Stmt::Kind::If: {
            const auto& node = static_cast<const IfStmt&>(s);
            for (const auto& [test, body] : node.branches) {
                if (truthy(eval(*test, f))) return exec(body, f);
            }
            return exec(node.otherwise, f);
        }
        case Stmt::Kind::For:
            return exec_for(static_cast<const ForStmt&>(s), f);
        case Stmt::Kind::Set: {
            const auto& node = static_cast<const SetStmt&>(s);
            assign(node.target, eval(*node.value, f), f);
            return Flow::Normal;
        }
        case Stmt::Kind::SetBlock: {
            const auto& node = static_cast<const SetBlockStmt&>(s);
            Value v = capture(node.body, child_frame(f, node.body_undefined));
            assign(node.target, apply_filters(node.filters, std::move(v), f), f);
            return Flow::Normal;
        }
        case Stmt::Kind::Macro: {
            const auto& node = static_cast<const MacroStmt&>(s);
            auto macro = std::make_shared<MacroObject>(node.name, node.params, node.body,
                                                       node.body_undefined, f);
            track(macro);
            f->set(node.name, Value::object(std::move(macro)));
            return Flow::Normal;
        }
        case Stmt::Kind::CallBlock: {
            const auto& node = static_cast<const CallBlockStmt&>(s);
            const auto& call = static_cast<const CallExpr&>(*node.call);
            Value callee = eval(*call.callee, f);
            if (!callee.is_object()) {
                if (callee.is_undefined()) fail_undefined(callee);
                throw TemplateRenderError("'" + type_name(callee) + "' object is not callable");
            }
            auto* macro = dynamic_cast<MacroObject*>(&callee.object());
            if (!macro) throw TemplateRenderError("{% call %} needs a macro");
            static const std::string caller_name = "caller";
            auto caller = std::make_shared<MacroObject>(caller_name, node.caller_params, node.body,
                                                        node.body_undefined, f);
            // A copy of the macro with `caller` bound, so nested calls do not interfere.
            auto bound = std::make_shared<MacroObject>(*macro);
            track(caller);
            track(bound);
            bound->set_caller(Value::object(caller));
            CallArgs args = eval_args(call.args, f);
            emit_value(bound->call(*this, args));
            return Flow::Normal;
        }
        case Stmt::Kind::FilterBlock: {
            const auto& node = static_cast<const FilterBlockStmt&>(s);
            Value v = capture(node.body, child_frame(f, node.body_undefined));
            emit_value(apply_filters(node.filters, std::move(v), f));
            return Flow::Normal;
        }
        case Stmt::Kind::With: {
            const auto& node = static_cast<const WithStmt&>(s);
            auto frame = child_frame(f, node.body_undefined);
            for (const auto& [target, value] : node.assignments)
                assign(target, eval(*value, f), frame);
            return exec(node.body, frame);
        }
        case Stmt::Kind::Generation: {
            const auto& node = static_cast<const GenerationStmt&>(s);
            return exec(node.body, child_frame(f, node.body_undefined));
        }
        case Stmt::Kind::Break:
            return Flow::Break;
        case Stmt::Kind::Continue:
            return Flow::Continue;
    }
    return Flow::Normal;
}

}  // namespace pensieve::chat
