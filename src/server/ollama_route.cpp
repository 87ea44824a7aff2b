// The Ollama dialect: requests are translated into the normalised
// conversation (api/ollama_request.hpp) and run by the shared generation
// path; this file supplies only the reply objects, the NDJSON lines and
// errors in a stream. While the engine is silent a stream sends a space:
// JSON readers skip the whitespace before the next object.
#include "server/ollama_route.hpp"

#include "api/json_body.hpp"
#include "api/ollama_request.hpp"
#include "api/ollama_response.hpp"
#include "server/access_log.hpp"
#include "server/responses.hpp"

namespace pensieve::server {

namespace {

class OllamaDialect : public Dialect {
  public:
    explicit OllamaDialect(api::OllamaReply reply) : reply_(std::move(reply)) {}

    std::shared_ptr<api::BlockFraming> framing() override { return api::ollama_framing(reply_); }
    std::string stream_start(const api::Usage&) override { return " "; }
    std::string ping() override { return " "; }
    std::string stream_end(const Outcome& o) override {
        return api::ollama_stream_end(reply_, o.stop_reason, o.usage,
                                      {o.prefill_seconds, o.decode_seconds});
    }
    std::string stream_error(const std::string&, const std::string& message) override {
        return api::ndjson_line(api::ollama_error_body(message));
    }
    nlohmann::ordered_json whole(const nlohmann::ordered_json& content, const Outcome& o) override {
        return api::ollama_reply_json(reply_, content, o.stop_reason, o.usage,
                                      {o.prefill_seconds, o.decode_seconds});
    }
    std::string stream_content_type() const override { return "application/x-ndjson"; }

  private:
    api::OllamaReply reply_;
};

void run(const Request& req, Response& res, const RouteContext& ctx, const api::OllamaRequest& r,
         api::OllamaReply::Kind kind) {
    // A request with no prompt loads the model, as in Ollama.
    ModelLease lease = ctx.models.acquire(r.core.model);
    const int64_t n_ctx = lease->serving().n_ctx;
    // Ollama would size a context of num_ctx tokens (clamped to the
    // model's trained length); this server's context is fixed at startup,
    // so a client asking for more than it is told so rather than having
    // its long prompts refused later.
    if (r.num_ctx > n_ctx) {
        throw api::invalid_request("options.num_ctx: " + std::to_string(r.num_ctx) +
                                   " tokens exceeds this server's context of " +
                                   std::to_string(n_ctx) + " (set with pensieve serve --ctx)");
    }
    const api::OllamaReply reply{kind, r.core.model};
    if (r.load_only) {  // loaded by acquire() above
        current_request().model = lease->serving().model.id;
        if (r.core.model != lease->serving().model.id)
            current_request().requested_model = r.core.model;
        if (r.core.stream) {
            res.status = 200;
            res.set_content(api::ndjson_line(api::ollama_load_json(reply)), "application/x-ndjson");
            return;
        }
        send_json(res, 200, api::ollama_load_json(reply));
        return;
    }
    generate(req, res, ctx, std::move(lease), r.core, std::make_unique<OllamaDialect>(reply));
}

// Read from the file's header at start-up: a listing loads nothing.
api::OllamaModelFacts facts(const ModelSpec& spec) {
    return {{spec.name, spec.display_name, spec.n_ctx}, spec.file_bytes, spec.architecture};
}

}  // namespace

void handle_ollama_chat(const Request& req, Response& res, const RouteContext& ctx) {
    run(req, res, ctx, api::parse_ollama_chat_request(req.body), api::OllamaReply::Kind::Chat);
}

void handle_ollama_generate(const Request& req, Response& res, const RouteContext& ctx) {
    run(req, res, ctx, api::parse_ollama_generate_request(req.body),
        api::OllamaReply::Kind::Generate);
}

void handle_ollama_tags(Response& res, const ModelPool& models) {
    std::vector<api::OllamaModelFacts> all;
    for (const ModelSpec& spec : models.models()) all.push_back(facts(spec));
    send_json(res, 200, api::ollama_tags_json(all));
}

void handle_ollama_ps(Response& res, const ModelPool& models) {
    std::vector<api::OllamaModelFacts> loaded;
    for (const ModelPool::State& s : models.states()) {
        if (s.runtime) loaded.push_back(facts(*s.spec));
    }
    send_json(res, 200, api::ollama_ps_json(loaded));
}

void handle_ollama_show(const Request& req, Response& res, const ModelPool& models) {
    const nlohmann::ordered_json body = api::parse_json_body(req.body, {});
    if (!body.is_object()) throw api::invalid_request("request body must be a JSON object");
    std::string name;
    for (const char* key : {"model", "name"}) {
        const auto it = body.find(key);
        if (it != body.end() && it->is_string()) {
            name = it->get<std::string>();
            break;
        }
    }
    if (name.empty()) throw api::invalid_request("model: Field required");
    // A model's own name only: aliases route generations, not descriptions.
    const std::optional<size_t> i = models.find(name);
    if (!i) {
        send_error(res, 404, "not_found_error",
                   "model '" + name.substr(0, 256) +
                       "' not found; this server serves: " + models.servable_names());
        return;
    }
    send_json(res, 200, api::ollama_show_json(facts(models.models()[*i]), true));
}

void handle_ollama_version(Response& res, const ServerInfo& info) {
    send_json(res, 200, nlohmann::ordered_json{{"version", info.version}});
}

}  // namespace pensieve::server
