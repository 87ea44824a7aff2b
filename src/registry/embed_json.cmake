# Turns known_models.json into a C++ source holding it as a raw string, so the
# binary carries its model table and needs no data files at run time.
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}" "// Generated from known_models.json by embed_json.cmake; do not edit.\n"
    "namespace pensieve::registry {\n"
    "extern const char* const kKnownModelsJson;\n"
    "const char* const kKnownModelsJson = R\"json(${content})json\";\n"
    "}\n")
