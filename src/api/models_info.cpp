// Model listing payloads.
#include "api/models_info.hpp"

namespace pensieve::api {

nlohmann::json model_info_json(const ServedModel& m) {
    return {{"type", "model"},
            {"id", m.id},
            {"display_name", m.display_name.empty() ? m.id : m.display_name},
            {"created_at", "2024-01-01T00:00:00Z"},  // the release date is not in GGUF files
            {"max_input_tokens", m.context},
            {"object", "model"},
            {"created", 1704067200},
            {"owned_by", "pensieve"}};
}

nlohmann::json models_list_json(const ServedModel& m) {
    return models_list_json(std::vector<ServedModel>{m});
}

nlohmann::json models_list_json(const std::vector<ServedModel>& models) {
    nlohmann::json data = nlohmann::json::array();
    for (const ServedModel& m : models) data.push_back(model_info_json(m));
    return {
        {"object", "list"},
        {"data", data},
        {"has_more", false},
        {"first_id", models.empty() ? nlohmann::json(nullptr) : nlohmann::json(models.front().id)},
        {"last_id", models.empty() ? nlohmann::json(nullptr) : nlohmann::json(models.back().id)}};
}

}  // namespace pensieve::api
