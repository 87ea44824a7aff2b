// jinja2 decides variable scopes statically (jinja2/idtracking.py): within a scope
// (the template, a for-loop body, a macro, a call/filter/set block, `with`), a name
// whose first use in source order is an unconditional `set` starts out undefined,
// even when the render context has a variable of that name, unless an enclosing scope
// uses the name. This pass mirrors that analysis and records, per scope, the names to
// bind to Undefined when the scope is entered; lookups otherwise walk the scope chain.
#pragma once

#include "chat/ast.hpp"

namespace pensieve::chat {

// Fills the *_undefined lists of every nested scope; returns the template root's list.
ScopeNames analyze_scopes(Body& root);

}  // namespace pensieve::chat
