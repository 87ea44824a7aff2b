// Global functions available to every render: jinja2's range, dict, namespace, cycler
// and joiner, plus the raise_exception and strftime_now that transformers adds.
#include <ctime>

#include "chat/builtins.hpp"
#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/objects.hpp"
#include "chat/ops.hpp"

namespace pensieve::chat {

namespace {

Value fn_range(Interpreter& in, CallArgs& a) {
    if (a.args.empty() || a.args.size() > 3)
        throw TemplateRenderError("range expected 1 to 3 arguments");
    for (const auto& v : a.args) {
        if (!v.is_integral())
            throw TemplateRenderError("'" + type_name(v) +
                                      "' object cannot be interpreted as an integer");
    }
    int64_t start = 0, stop = 0, step = 1;
    if (a.args.size() == 1) {
        stop = a.args[0].as_int();
    } else {
        start = a.args[0].as_int();
        stop = a.args[1].as_int();
        if (a.args.size() == 3) step = a.args[2].as_int();
    }
    if (step == 0) throw TemplateRenderError("range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        // The sandbox caps ranges too (MAX_RANGE); ours are the loop budget and the
        // items a list may hold.
        if (out.size() >= in.limits().max_loop_iterations ||
            out.size() >= max_list_items(in.limits().max_output_bytes))
            throw TemplateLimitError("range too big");
        out.push_back(Value::integer(i));
        if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
    }
    return Value::list(std::move(out));
}

Value fn_dict(Interpreter&, CallArgs& a) {
    if (!a.args.empty() && !a.args[0].is_dict())
        throw TemplateRenderError("dict() positional argument must be a mapping");
    // A copy of the mapping, index included, rather than its entries added one by one.
    auto d = a.args.empty() ? std::make_shared<DictData>()
                            : std::make_shared<DictData>(a.args[0].dict());
    for (auto& [k, v] : a.kwargs) d->set(Value::string(k), v);
    return Value::dict(std::move(d));
}

Value fn_namespace(Interpreter& in, CallArgs& a) {
    auto ns = std::make_shared<NamespaceObject>();
    in.track(ns);
    if (!a.args.empty() && a.args[0].is_dict()) {
        for (const auto& [k, v] : a.args[0].dict().items()) ns->attrs().set(k, v);
    }
    for (auto& [k, v] : a.kwargs) ns->attrs().set(Value::string(k), v);
    return Value::object(std::move(ns));
}

class CyclerObject : public Object {
  public:
    explicit CyclerObject(std::vector<Value> items) : items_(std::move(items)) {}
    std::string type_name() const override { return "Cycler"; }
    Value get_attr(std::string_view name) const override {
        auto self = std::static_pointer_cast<CyclerObject>(
            const_cast<CyclerObject*>(this)->shared_from_this());
        if (name == "current") return items_[pos_];
        if (name == "next") {
            return Value::object(
                std::make_shared<FunctionObject>("next", [self](Interpreter&, CallArgs&) {
                    Value v = self->items_[self->pos_];
                    self->pos_ = (self->pos_ + 1) % self->items_.size();
                    return v;
                }));
        }
        if (name == "reset") {
            return Value::object(
                std::make_shared<FunctionObject>("reset", [self](Interpreter&, CallArgs&) {
                    self->pos_ = 0;
                    return Value::none();
                }));
        }
        return Object::get_attr(name);
    }

  private:
    std::vector<Value> items_;
    std::size_t pos_ = 0;
};

Value fn_cycler(Interpreter&, CallArgs& a) {
    if (a.args.empty()) throw TemplateRenderError("at least one item has to be provided");
    return Value::object(std::make_shared<CyclerObject>(a.args));
}

Value fn_joiner(Interpreter&, CallArgs& a) {
    const Value* sep = a.get(0, "sep");
    auto used = std::make_shared<bool>(false);
    const Value text = sep ? str_of(*sep) : Value::string(", ");
    return Value::object(
        std::make_shared<FunctionObject>("joiner", [used, text](Interpreter&, CallArgs&) {
            if (!*used) {
                *used = true;
                return Value::string("");
            }
            return text;
        }));
}

Value fn_raise_exception(Interpreter&, CallArgs& a) {
    const Value* msg = a.get(0, "message");
    throw TemplateRaisedError(msg ? to_str(*msg) : "");
}

Value fn_strftime_now(Interpreter&, CallArgs& a) {
    const Value* fmt = a.get(0, "format");
    if (!fmt || !fmt->is_string())
        throw TemplateRenderError("strftime_now() needs a format string");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::string buf(256, '\0');
    const std::size_t n = std::strftime(buf.data(), buf.size(), fmt->str().c_str(), &local);
    if (n == 0 && !fmt->str().empty()) throw TemplateRenderError("strftime_now(): format too long");
    buf.resize(n);
    TrackedText out;
    out.append_derived(buf, *fmt);  // a client format string makes client text
    return Value::string(std::move(out));
}

}  // namespace

void add_globals(DictData& globals) {
    auto add = [&](const char* name, FunctionObject::Fn fn) {
        globals.set(Value::string(name),
                    Value::object(std::make_shared<FunctionObject>(name, std::move(fn))));
    };
    add("range", fn_range);
    add("dict", fn_dict);
    add("namespace", fn_namespace);
    add("cycler", fn_cycler);
    add("joiner", fn_joiner);
    add("raise_exception", fn_raise_exception);
    add("strftime_now", fn_strftime_now);
}

}  // namespace pensieve::chat
