// Typed reads of tokenizer.json fields whose errors name the file and the field at fault, e.g.
// "tokenizer.json: model.merges[3]: expected a string". `where` is always "<file>: <field path>".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tessera/status.h"

namespace tessera::generate {

using Json = nlohmann::json;

inline Status JsonFieldError(const std::string& where, std::string_view what) {
  return InvalidArgument(where + ": " + std::string(what));
}

inline std::string JsonChild(const std::string& where, std::string_view key) {
  return where + "." + std::string(key);
}
inline std::string JsonChild(const std::string& where, size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

// A required object member; `where` names the object itself.
inline StatusOr<const Json*> JsonMember(const Json& object, std::string_view key, const std::string& where) {
  if (!object.is_object()) return JsonFieldError(where, "expected an object");
  auto it = object.find(std::string(key));
  if (it == object.end()) return JsonFieldError(JsonChild(where, key), "missing");
  return &*it;
}

inline StatusOr<std::string> JsonString(const Json& object, std::string_view key, const std::string& where) {
  TS_ASSIGN_OR_RETURN(const Json* value, JsonMember(object, key, where));
  if (!value->is_string()) return JsonFieldError(JsonChild(where, key), "expected a string");
  return value->get<std::string>();
}

// An optional string member; absent or null gives `fallback`.
inline StatusOr<std::string> JsonStringOr(const Json& object, std::string_view key, const std::string& where,
                                          std::string fallback) {
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) return JsonFieldError(JsonChild(where, key), "expected a string");
  return it->get<std::string>();
}

inline StatusOr<bool> JsonBoolOr(const Json& object, std::string_view key, const std::string& where,
                                 bool fallback) {
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return JsonFieldError(JsonChild(where, key), "expected true or false");
  return it->get<bool>();
}

inline StatusOr<int64_t> JsonIntOr(const Json& object, std::string_view key, const std::string& where,
                                   int64_t fallback) {
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) return JsonFieldError(JsonChild(where, key), "expected an integer");
  return it->get<int64_t>();
}

}  // namespace tessera::generate
