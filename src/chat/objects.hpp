// The non-data objects a render creates: macros, the `loop` variable, namespace(),
// builtin functions and bound methods.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chat/ast.hpp"
#include "chat/interp.hpp"
#include "chat/value.hpp"

namespace pensieve::chat {

class MacroObject : public Object {
  public:
    MacroObject(const std::string& name, const std::vector<MacroParam>& params, const Body& body,
                const ScopeNames& body_undefined, FramePtr closure)
        : name_(name),
          params_(params),
          body_(body),
          body_undefined_(body_undefined),
          closure_(std::move(closure)) {}
    std::string type_name() const override { return "Macro"; }
    bool is_callable() const override { return true; }
    Value call(Interpreter& in, CallArgs& args) override;
    std::string repr() const override { return "<Macro '" + name_ + "'>"; }
    // `caller` for {% call %} blocks.
    void set_caller(Value caller) { caller_ = std::move(caller); }
    void release_references() override {
        closure_.reset();
        caller_ = Value();
    }

  private:
    const std::string& name_;
    const std::vector<MacroParam>& params_;
    const Body& body_;
    const ScopeNames& body_undefined_;
    FramePtr closure_;
    Value caller_;
};

class NamespaceObject : public Object {
  public:
    std::string type_name() const override { return "Namespace"; }
    Value get_attr(std::string_view name) const override;
    bool set_attr(std::string_view name, Value value) override;
    std::string repr() const override { return "<Namespace object>"; }
    DictData& attrs() { return attrs_; }
    void release_references() override { attrs_ = DictData(); }

  private:
    DictData attrs_;
};

class LoopObject : public Object {
  public:
    // `recursive` is the loop statement when it was declared `recursive` (loop() callable).
    LoopObject(std::vector<Value> items, int depth, const ForStmt* recursive, FramePtr frame)
        : items_(std::move(items)), depth_(depth), loop_(recursive), frame_(std::move(frame)) {
        // The loop's own copy of the items, alive while its body runs (and recurses).
        items_charge_.set(items_.capacity() * sizeof(Value));
    }
    std::string type_name() const override { return "LoopContext"; }
    Value get_attr(std::string_view name) const override;
    bool is_callable() const override { return loop_ != nullptr; }
    Value call(Interpreter& in, CallArgs& args) override;  // recursive loops: loop(children)
    std::string repr() const override;
    const std::vector<Value>& items() const { return items_; }
    void set_index(std::size_t i) { index_ = i; }
    void release_references() override {
        frame_.reset();
        last_changed_.clear();  // loop.changed(loop.changed) holds the loop itself
    }

  private:
    std::vector<Value> items_;
    Charge items_charge_;
    std::size_t index_ = 0;
    int depth_;
    const ForStmt* loop_;
    FramePtr frame_;
    mutable std::vector<Value> last_changed_;
    mutable bool has_changed_ = false;
};

// A builtin function (range, namespace, raise_exception, a bound str method, ...).
class FunctionObject : public Object {
  public:
    using Fn = std::function<Value(Interpreter&, CallArgs&)>;
    FunctionObject(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
    std::string type_name() const override { return "builtin_function_or_method"; }
    bool is_callable() const override { return true; }
    Value call(Interpreter& in, CallArgs& args) override { return fn_(in, args); }
    std::string repr() const override { return "<built-in function " + name_ + ">"; }

  private:
    std::string name_;
    Fn fn_;
};

}  // namespace pensieve::chat
