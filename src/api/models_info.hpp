// GET /v1/models and /v1/models/{id}: the servable models, in a shape both the
// Anthropic and the OpenAI SDKs accept (each entry carries both sets of
// fields; clients ignore the ones they do not know).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pensieve::api {

struct ServedModel {
    std::string id;            // the model's name, e.g. "smollm2-135m-instruct-q4_1"
    std::string display_name;  // general.name
    int64_t context = 0;       // tokens of context the server gives a request
};

nlohmann::json model_info_json(const ServedModel& m);
nlohmann::json models_list_json(const ServedModel& m);
// Every model the server can serve, in its order.
nlohmann::json models_list_json(const std::vector<ServedModel>& models);

}  // namespace pensieve::api
