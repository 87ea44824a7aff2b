// Template: lexer + parser at load, interpreter per render. See template.hpp.
#include "chat/template.hpp"

#include "chat/builtins.hpp"
#include "chat/error.hpp"
#include "chat/interp.hpp"
#include "chat/lexer.hpp"
#include "chat/parser.hpp"
#include "chat/scope_analysis.hpp"

namespace pensieve::chat {

struct TemplateImpl {
    std::string source;  // normalized; tokens and errors refer to it
    Body body;
    ScopeNames root_undefined;  // see scope_analysis.hpp
    Limits limits;
};

namespace {

const DictData& builtin_globals() {
    static const DictData globals = [] {
        DictData d;
        add_globals(d);
        return d;
    }();
    return globals;
}

}  // namespace

Template Template::parse(std::string_view source, const Limits& limits) {
    if (source.size() > limits.max_template_bytes) {
        throw TemplateSyntaxError(
            "template is larger than " + std::to_string(limits.max_template_bytes) + " bytes", 1,
            1);
    }
    auto impl = std::make_shared<TemplateImpl>();
    impl->limits = limits;
    impl->source = normalize_source(source);
    SourceMap map(impl->source);
    Parser parser(tokenize(impl->source), map, impl->limits);
    impl->body = parser.parse_template();
    impl->root_undefined = analyze_scopes(impl->body);
    return Template(std::move(impl));
}

std::string Template::render(const DictData& context) const {
    return render_tracked(context).text;
}

TrackedText Template::render_tracked(const DictData& context) const {
    Interpreter interp(impl_->limits, context, builtin_globals());
    return interp.render(impl_->body, impl_->root_undefined);
}

const Limits& Template::limits() const {
    return impl_->limits;
}

}  // namespace pensieve::chat
