// Internal to agent/kubernetes: Pod from an already-parsed RapidJSON value, so the watch stream
// parser (which gets {"type":..., "object": <Pod>}) does not serialise and re-parse each object.
#pragma once

#include <rapidjson/document.h>

#include <string_view>

#include "kubernetes/pod_targets.h"

namespace skidder::kubernetes {

Result<Pod> PodFromJson(const rapidjson::Value& obj);

// obj[key] as a string, or "" when absent or not a string.
std::string_view JsonString(const rapidjson::Value& obj, const char* key);
// obj[key] when it is an object/array, nullptr otherwise.
const rapidjson::Value* JsonObject(const rapidjson::Value& obj, const char* key);
const rapidjson::Value* JsonArray(const rapidjson::Value& obj, const char* key);

}  // namespace skidder::kubernetes
