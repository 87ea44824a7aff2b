// Safety bounds for untrusted templates (they come from model files).
#pragma once

#include <cstddef>

namespace pensieve::chat {

struct Limits {
    std::size_t max_template_bytes = std::size_t{4} << 20;  // source size accepted by parse()
    std::size_t max_nesting = 200;  // parser: nested blocks + expression depth
    std::size_t max_output_bytes = std::size_t{64} << 20;  // also caps any one built string
    std::size_t max_loop_iterations = 10'000'000;          // summed over all loops of one render
    std::size_t max_call_depth = 200;                      // nested macro calls (recursion)
    std::size_t max_value_depth = 256;  // nesting of values printed / serialized / converted
    // Wall-clock time of one render. The bounds above cap each step (a string op
    // over up to max_output_bytes) and the loop iterations, but not their product:
    // ten million iterations that each scan a 60 MB string would run for hours.
    double max_render_seconds = 10.0;
    // Bytes of strings, lists, dicts and output buffers one render holds at once
    // (memory_budget.hpp). The bounds above cap each value, not how many a template
    // keeps: three hundred 60 MB strings in a list reach 18 GB. Real templates hold
    // the prompt and a few pieces of it: a 3 MB conversation with 200 tools (200 KB
    // of schemas, some 50k tokens) rendered through the Qwen3, Hermes, Llama 3.2 and
    // Mistral Small templates holds at most 5 MiB at once, and a template rebuilding
    // its prompt with `ns.s = ns.s ~ part` holds two copies of it. 256 MiB leaves
    // fifty times that and still stops a hostile template before it takes a real
    // share of the machine. The request's own values are built before the render
    // and are not counted.
    std::size_t max_live_bytes = std::size_t{256} << 20;
};

}  // namespace pensieve::chat
