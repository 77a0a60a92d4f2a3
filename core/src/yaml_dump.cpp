#include <chainpp/json.hpp>

#include <yaml-cpp/yaml.h>

namespace chainpp {

namespace {

void emit(YAML::Emitter& out, const Json& j) {
  switch (j.type()) {
    case Json::Type::null: out << YAML::Null; break;
    case Json::Type::boolean: out << j.as_bool(); break;
    case Json::Type::integer: out << j.as_int(); break;
    case Json::Type::number: out << j.as_double(); break;
    case Json::Type::string: out << YAML::DoubleQuoted << j.as_string(); break;
    case Json::Type::array:
      out << YAML::BeginSeq;
      for (const auto& e : j.as_array()) emit(out, e);
      out << YAML::EndSeq;
      break;
    case Json::Type::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.as_object()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

std::string to_yaml(const Json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

}  // namespace chainpp
