// The Anthropic Messages dialect: the request is parsed into the normalised
// conversation and run by the shared generation path; this file supplies only
// the Message object and the SSE events (message_start, content blocks,
// message_delta, message_stop, ping, error) of the reply.
#include "server/messages_route.hpp"

#include "api/messages_request.hpp"
#include "api/messages_response.hpp"
#include "server/responses.hpp"

namespace pensieve::server {

namespace {

class AnthropicDialect : public Dialect {
  public:
    explicit AnthropicDialect(std::string model) : model_(std::move(model)) {}

    std::shared_ptr<api::BlockFraming> framing() override { return api::anthropic_framing(); }
    std::string stream_start(const api::Usage& usage) override {
        // message_start, with the real input token count, and a ping go out
        // as soon as the job is admitted.
        return api::message_start_event(id_, model_, usage) + api::ping_event();
    }
    std::string ping() override { return api::ping_event(); }
    std::string stream_end(const Outcome& o) override {
        return api::message_delta_event(o.stop_reason, o.stop_sequence, o.usage) +
               api::message_stop_event();
    }
    std::string stream_error(const std::string& type, const std::string& message) override {
        return api::error_event(type, message);
    }
    nlohmann::ordered_json whole(const nlohmann::ordered_json& content, const Outcome& o) override {
        return api::message_json(id_, model_, content, o.stop_reason, o.stop_sequence, o.usage);
    }

  private:
    std::string model_;
    std::string id_ = api::new_id("msg_");
};

}  // namespace

void handle_messages(const Request& req, Response& res, const RouteContext& ctx) {
    const api::MessagesRequest r = api::parse_messages_request(req.body, api::Endpoint::Messages);
    generate(req, res, ctx, ctx.models.acquire(r.model), r,
             std::make_unique<AnthropicDialect>(r.model));
}

void handle_count_tokens(const Request& req, Response& res, const RouteContext& ctx) {
    const api::MessagesRequest r =
        api::parse_messages_request(req.body, api::Endpoint::CountTokens);
    const ModelLease lease = ctx.models.acquire(r.model);  // its tokenizer and template
    send_json(res, 200, {{"input_tokens", count_prompt_tokens(r, lease->serving())}});
}

}  // namespace pensieve::server
