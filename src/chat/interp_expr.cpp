// Expression evaluation. See interp.hpp.
#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/methods.hpp"
#include "chat/ops.hpp"

namespace pensieve::chat {

namespace {

template <typename T>
const T& as(const Expr& e) {
    return static_cast<const T&>(e);
}

}  // namespace

Value Interpreter::lookup(const std::string& name, const FramePtr& f) const {
    if (const Value* v = f->find(name)) return *v;
    if (const Value* v = context_.find(std::string_view(name))) return *v;
    if (const Value* v = globals_.find(std::string_view(name))) return *v;
    return Value::undefined("'" + name + "' is undefined");
}

CallArgs Interpreter::eval_args(const Args& args, const FramePtr& f) {
    CallArgs out;
    out.args.reserve(args.positional.size());
    for (const auto& a : args.positional) out.args.push_back(eval(*a, f));
    for (const auto& [k, a] : args.keyword) out.kwargs.emplace_back(k, eval(*a, f));
    return out;
}

Value Interpreter::call_value(const Value& callee, CallArgs& args) {
    if (callee.is_undefined()) fail_undefined(callee);
    if (callee.is_object() && callee.object().is_callable()) {
        return callee.object().call(*this, args);
    }
    throw TemplateRenderError("'" + type_name(callee) + "' object is not callable");
}

Value Interpreter::eval_call(const CallExpr& call, const FramePtr& f) {
    if (call.callee->kind == Expr::Kind::GetAttr) {
        // obj.method(...) on str/list/dict: call directly, no bound-method object.
        const auto& ga = as<GetAttrExpr>(*call.callee);
        Value obj = eval(*ga.object, f);
        if ((obj.is_string() || obj.is_list() || obj.is_dict()) && has_method(obj, ga.name)) {
            CallArgs args = eval_args(call.args, f);
            return call_method(*this, obj, ga.name, args);
        }
        Value callee = get_attr(obj, ga.name);
        CallArgs args = eval_args(call.args, f);
        return call_value(callee, args);
    }
    Value callee = eval(*call.callee, f);
    CallArgs args = eval_args(call.args, f);
    return call_value(callee, args);
}

Value Interpreter::eval_compare(const CompareExpr& cmp, const FramePtr& f) {
    Value left = eval(*cmp.first, f);
    for (const auto& [kind, expr] : cmp.rest) {
        Value right = eval(*expr, f);
        bool ok = false;
        switch (kind) {
            case CompareKind::Eq:
                ok = values_equal(left, right, limits_.max_value_depth, this);
                break;
            case CompareKind::Ne:
                ok = !values_equal(left, right, limits_.max_value_depth, this);
                break;
            case CompareKind::Lt:
                ok = compare(CompareOp::Lt, left, right, this);
                break;
            case CompareKind::Le:
                ok = compare(CompareOp::Le, left, right, this);
                break;
            case CompareKind::Gt:
                ok = compare(CompareOp::Gt, left, right, this);
                break;
            case CompareKind::Ge:
                ok = compare(CompareOp::Ge, left, right, this);
                break;
            case CompareKind::In:
                ok = contains(right, left, this);
                break;
            case CompareKind::NotIn:
                ok = !contains(right, left, this);
                break;
        }
        if (!ok) return Value::boolean(false);
        left = std::move(right);
    }
    return Value::boolean(true);
}

Value Interpreter::eval(const Expr& e, const FramePtr& f) {
    check_deadline();
    Value v = eval_node(e, f);
    // Each step nests at most one level deeper than its operands, so no list or dict a
    // render builds can outgrow the bound that comparing and printing recurse within.
    if (v.depth() > limits_.max_value_depth) {
        throw TemplateLimitError("value nested more than " +
                                 std::to_string(limits_.max_value_depth) + " levels deep");
    }
    return v;
}

Value Interpreter::eval_node(const Expr& e, const FramePtr& f) {
    switch (e.kind) {
        case Expr::Kind::Const:
            return as<ConstExpr>(e).value;
        case Expr::Kind::Name:
            return lookup(as<NameExpr>(e).name, f);
        case Expr::Kind::GetAttr: {
            const auto& g = as<GetAttrExpr>(e);
            return get_attr(eval(*g.object, f), g.name);
        }
        case Expr::Kind::GetItem: {
            const auto& g = as<GetItemExpr>(e);
            Value obj = eval(*g.object, f);
            return get_item(obj, eval(*g.key, f));
        }
        case Expr::Kind::Slice: {
            const auto& s = as<SliceExpr>(e);
            Value obj = eval(*s.object, f);
            Value start = s.start ? eval(*s.start, f) : Value::none();
            Value stop = s.stop ? eval(*s.stop, f) : Value::none();
            Value step = s.step ? eval(*s.step, f) : Value::none();
            return slice(obj, start, stop, step, this);
        }
        case Expr::Kind::Call:
            return eval_call(as<CallExpr>(e), f);
        case Expr::Kind::Filter: {
            const auto& fe = as<FilterExpr>(e);
            Value input = eval(*fe.input, f);
            if (!fe.filter.fn) {
                throw TemplateRenderError("filter '" + fe.filter.name + "' is not supported");
            }
            CallArgs args = eval_args(fe.filter.args, f);
            return fe.filter.fn(*this, input, args);
        }
        case Expr::Kind::Test: {
            const auto& t = as<TestExpr>(e);
            Value input = eval(*t.input, f);
            CallArgs args = eval_args(t.args, f);
            return Value::boolean(t.fn(*this, input, args) != t.negated);
        }
        case Expr::Kind::Neg:
            return negate(eval(*as<UnaryExpr>(e).operand, f));
        case Expr::Kind::Pos: {
            Value v = eval(*as<UnaryExpr>(e).operand, f);
            if (v.is_undefined()) fail_undefined(v);
            if (!v.is_number())
                throw TemplateRenderError("bad operand type for unary +: '" + type_name(v) + "'");
            return v.is_bool() ? Value::integer(v.as_int()) : v;
        }
        case Expr::Kind::Not:
            return Value::boolean(!truthy(eval(*as<UnaryExpr>(e).operand, f)));
        case Expr::Kind::Binary: {
            const auto& b = as<BinaryExpr>(e);
            Value left = eval(*b.left, f);
            return binary(b.op, left, eval(*b.right, f), limits_.max_output_bytes);
        }
        case Expr::Kind::And: {
            const auto& b = as<BinaryExpr>(e);
            Value left = eval(*b.left, f);
            return truthy(left) ? eval(*b.right, f) : left;
        }
        case Expr::Kind::Or: {
            const auto& b = as<BinaryExpr>(e);
            Value left = eval(*b.left, f);
            return truthy(left) ? left : eval(*b.right, f);
        }
        case Expr::Kind::Concat: {
            // All parts first, as jinja2 does: a part may call a macro, and a buffer
            // filled before the call would be held, uncounted, through it.
            std::vector<Value> parts;
            std::size_t bytes = 0;
            for (const auto& p : as<ConcatExpr>(e).parts) {
                parts.push_back(
                    str_of(eval(*p, f), limits_.max_value_depth, limits_.max_output_bytes));
                bytes += parts.back().str().size();
                if (bytes > limits_.max_output_bytes) {
                    throw TemplateLimitError("string exceeds the output size limit");
                }
            }
            TrackedText s;
            s.text.reserve(bytes);
            for (const Value& part : parts) s.append(part);
            return Value::string(std::move(s));
        }
        case Expr::Kind::Compare:
            return eval_compare(as<CompareExpr>(e), f);
        case Expr::Kind::CondExpr: {
            const auto& c = as<CondExprNode>(e);
            if (truthy(eval(*c.test, f))) return eval(*c.then, f);
            if (c.otherwise) return eval(*c.otherwise, f);
            return Value::undefined(
                "the inline if-expression on line evaluated to false and no else section was "
                "defined.");
        }
        case Expr::Kind::List: {
            const auto& l = as<ListExpr>(e);
            std::vector<Value> items;
            items.reserve(l.items.size());
            for (const auto& i : l.items) items.push_back(eval(*i, f));
            return Value::list(std::move(items), l.tuple ? SeqKind::Tuple : SeqKind::List);
        }
        case Expr::Kind::Dict: {
            auto d = std::make_shared<DictData>();
            for (const auto& [k, v] : as<DictExpr>(e).items) {
                Value key = eval(*k, f);
                d->set(std::move(key), eval(*v, f));
            }
            return Value::dict(std::move(d));
        }
    }
    return Value();
}

}  // namespace pensieve::chat
