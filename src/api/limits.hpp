// Bounds on what one request body may hold. The server caps the body's size
// (--max-body, 32 MB by default, Anthropic's own limit); these caps bound its
// shape, so that parsing and validating any body under that size takes time
// and memory linear in its size, and nothing downstream (the chat template,
// the stop-string matcher, the log) is handed more than it can handle. Each
// one exceeded is a 400 invalid_request_error naming the field path and the
// limit. The README's "Request limits" list mirrors this one.
//
// - JSON nesting depth (max_json_depth, 64): checked while the body is parsed,
//   so a deeper document is never built (nor destroyed) at all.
// - JSON values in the body (max_json_values, 2^21): every scalar, array and
//   object counts once; this bounds the parsed document's memory (about
//   100 bytes a value at worst) whatever the body's shape.
// - One JSON string or object key (max_string_bytes, 16 MiB): an image's
//   base64 data or a long text fits; larger text cannot fit any model's
//   context.
// - messages (max_messages, 100,000): Anthropic's documented limit.
// - Content blocks (max_content_blocks, 100,000): summed over the whole
//   request (system blocks, message blocks and the blocks inside tool
//   results). A tool_result's content holds text/image/document blocks; a
//   tool_result inside a tool_result is rejected, as the API does.
// - model (max_model_bytes, 256): it is echoed back and logged.
// - A content block's type (max_block_type_bytes, 64): unknown types are
//   dropped and logged, so they are kept short.
// - stop_sequences (max_stop_sequences, 16, each at most max_stop_bytes, 256):
//   the engine checks every stop string against held-back text after every
//   generated token.
// - tools (max_tools, 1,000): each tool's name (max_tool_name_bytes, 256),
//   description (max_tool_description_bytes, 256 KiB) and input_schema
//   nesting (max_schema_depth, 32 levels of objects and arrays, the schema
//   itself included). Tools are bounded now, before tool use reads them.
#pragma once

#include <cstddef>

namespace pensieve::api {

struct RequestLimits {
    std::size_t max_json_depth = 64;
    std::size_t max_json_values = std::size_t{1} << 21;
    std::size_t max_string_bytes = std::size_t{16} << 20;
    std::size_t max_messages = 100'000;
    std::size_t max_content_blocks = 100'000;
    std::size_t max_model_bytes = 256;
    std::size_t max_block_type_bytes = 64;
    std::size_t max_stop_sequences = 16;
    std::size_t max_stop_bytes = 256;
    std::size_t max_tools = 1'000;
    std::size_t max_tool_name_bytes = 256;
    std::size_t max_tool_description_bytes = std::size_t{256} << 10;
    std::size_t max_schema_depth = 32;
};

}  // namespace pensieve::api
