// Macros, namespace() and the loop variable. See objects.hpp.
#include "chat/objects.hpp"

#include "chat/error.hpp"
#include "chat/ops.hpp"

namespace pensieve::chat {

Value MacroObject::call(Interpreter& in, CallArgs& args) {
    Interpreter::CallGuard guard(in);
    auto frame = in.child_frame(closure_, body_undefined_);
    std::vector<bool> bound(params_.size(), false);
    for (std::size_t i = 0; i < params_.size() && i < args.args.size(); ++i) {
        frame->set(params_[i].name, args.args[i]);
        bound[i] = true;
    }
    auto kwargs = std::make_shared<DictData>();
    for (auto& [key, value] : args.kwargs) {
        in.check_deadline();  // each keyword is looked for among all the parameters
        bool matched = false;
        for (std::size_t i = 0; i < params_.size(); ++i) {
            if (params_[i].name == key) {
                if (bound[i]) {
                    throw TemplateRenderError("macro '" + name_ +
                                              "' got multiple values for argument '" + key + "'");
                }
                frame->set(key, value);
                bound[i] = true;
                matched = true;
            }
        }
        if (!matched) kwargs->set(Value::string(key), value);
    }
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (bound[i]) continue;
        if (params_[i].default_value) {
            frame->set(params_[i].name, in.eval(*params_[i].default_value, frame));
        } else {
            frame->set(params_[i].name,
                       Value::undefined("parameter '" + params_[i].name + "' was not provided"));
        }
    }
    std::vector<Value> extra;
    for (std::size_t i = params_.size(); i < args.args.size(); ++i) extra.push_back(args.args[i]);
    frame->set("varargs", Value::list(std::move(extra), SeqKind::Tuple));
    frame->set("kwargs", Value::dict(std::move(kwargs)));
    if (!caller_.is_undefined()) frame->set("caller", caller_);
    return in.capture(body_, frame);
}

Value NamespaceObject::get_attr(std::string_view name) const {
    if (const Value* v = attrs_.find(name)) return *v;
    return Object::get_attr(name);
}

bool NamespaceObject::set_attr(std::string_view name, Value value) {
    attrs_.set(Value::string(std::string(name)), std::move(value));
    return true;
}

std::string LoopObject::repr() const {
    return "<LoopContext " + std::to_string(index_ + 1) + "/" + std::to_string(items_.size()) + ">";
}

Value LoopObject::get_attr(std::string_view name) const {
    const auto n = static_cast<int64_t>(items_.size());
    const auto i = static_cast<int64_t>(index_);
    if (name == "index0") return Value::integer(i);
    if (name == "index") return Value::integer(i + 1);
    if (name == "revindex0") return Value::integer(n - i - 1);
    if (name == "revindex") return Value::integer(n - i);
    if (name == "first") return Value::boolean(i == 0);
    if (name == "last") return Value::boolean(i == n - 1);
    if (name == "length") return Value::integer(n);
    if (name == "depth") return Value::integer(depth_);
    if (name == "depth0") return Value::integer(depth_ - 1);
    if (name == "previtem") {
        if (i == 0) return Value::undefined("there is no previous item");
        return items_[index_ - 1];
    }
    if (name == "nextitem") {
        if (i + 1 >= n) return Value::undefined("there is no next item");
        return items_[index_ + 1];
    }
    if (name == "cycle") {
        const std::size_t index = index_;
        return Value::object(std::make_shared<FunctionObject>(
            "cycle", [index](Interpreter&, CallArgs& args) -> Value {
                if (args.args.empty()) throw TemplateRenderError("no items for cycling given");
                return args.args[index % args.args.size()];
            }));
    }
    if (name == "changed") {
        auto self =
            std::static_pointer_cast<LoopObject>(const_cast<LoopObject*>(this)->shared_from_this());
        return Value::object(std::make_shared<FunctionObject>(
            "changed", [self](Interpreter& in, CallArgs& args) -> Value {
                bool same = self->has_changed_ && self->last_changed_.size() == args.args.size();
                for (std::size_t k = 0; same && k < args.args.size(); ++k) {
                    same = values_equal(self->last_changed_[k], args.args[k],
                                        in.limits().max_value_depth, &in);
                }
                self->has_changed_ = true;
                self->last_changed_ = args.args;
                return Value::boolean(!same);
            }));
    }
    return Object::get_attr(name);
}

Value LoopObject::call(Interpreter& in, CallArgs& args) {
    if (!loop_) return Object::call(in, args);
    if (args.args.size() != 1) throw TemplateRenderError("loop() takes exactly one argument");
    Interpreter::CallGuard guard(in);
    return in.capture_loop(*loop_, args.args[0], frame_, depth_ + 1);
}

}  // namespace pensieve::chat
