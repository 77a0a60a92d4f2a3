#pragma once
// Validates chat-completions request bodies against the official request
// schema (tests/data/azure-openai/2024-10-21/chat-completions-request.schema.json, vendored)
// with RapidJSON's schema validator. Returns "" when valid, else what failed.
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>

namespace chainpp::test {

inline const rapidjson::SchemaDocument& request_schema() {
  static const std::unique_ptr<rapidjson::SchemaDocument> schema = [] {
    const std::string path =
        std::string(CHAINPP_SOURCE_DIR) + "/tests/data/azure-openai/2024-10-21/chat-completions-request.schema.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    rapidjson::Document d;
    d.Parse(text.c_str());
    if (d.HasParseError()) throw std::runtime_error("cannot parse " + path);
    return std::make_unique<rapidjson::SchemaDocument>(d);
  }();
  return *schema;
}

inline std::string request_schema_violation(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError()) return "body is not JSON";
  rapidjson::SchemaValidator v(request_schema());
  if (d.Accept(v)) return "";
  rapidjson::StringBuffer where, schema_where;
  v.GetInvalidDocumentPointer().StringifyUriFragment(where);
  v.GetInvalidSchemaPointer().StringifyUriFragment(schema_where);
  return std::string("invalid at ") + where.GetString() + " (schema " + schema_where.GetString() + ", keyword " +
         v.GetInvalidSchemaKeyword() + ")";
}

}  // namespace chainpp::test
