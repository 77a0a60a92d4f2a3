// Values generated from a JSON schema, and their check with RapidJSON's
// schema validator (see schema_values.hpp).
#include "schema_values.hpp"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

namespace emulator {

using chainpp::Json;

namespace {

constexpr int max_depth = 32;
constexpr long max_nodes = 100000;  // a schema that branches at every level must not take forever

class Generator {
public:
  explicit Generator(const Json& root) : root_(root) {}

  Json value(const Json& schema, int depth) {
    if (depth > max_depth) throw std::runtime_error("the schema recurses without an exit");
    if (++nodes_ > max_nodes) throw std::runtime_error("the schema's value would exceed " + std::to_string(max_nodes) + " nodes");
    if (schema.is_bool()) {
      if (!schema.as_bool()) throw std::runtime_error("the schema is false: no value validates");
      return Json();
    }
    if (!schema.is_object()) return Json();
    if (const Json* ref = schema.find("$ref"); ref && ref->is_string()) return value(resolve(ref->as_string()), depth + 1);
    if (const Json* c = schema.find("const")) return *c;
    if (const Json* e = schema.find("enum"); e && e->is_array() && !e->empty()) return e->at(std::size_t{0});
    for (const char* key : {"anyOf", "oneOf"})
      if (const Json* branches = schema.find(key); branches && branches->is_array() && !branches->empty())
        return value(pick(*branches, depth), depth + 1);
    if (const Json* all = schema.find("allOf"); all && all->is_array() && !all->empty()) return value(merge(schema, *all), depth + 1);

    std::string type = type_of(schema);
    if (type == "object") return object(schema, depth);
    if (type == "array") return array(schema, depth);
    if (type == "string") return string(schema);
    if (type == "integer") {
      const double v = number(schema, true);
      if (!(std::fabs(v) < 9e15)) throw std::runtime_error("the schema's integer bounds are out of range");
      return Json(static_cast<long>(std::llround(v)));
    }
    if (type == "number") return Json(number(schema, false));
    if (type == "boolean") return Json(true);
    return Json();
  }

private:
  // The schema a "#/..." JSON pointer names in the root document.
  const Json& resolve(const std::string& ref) {
    if (ref.empty() || ref[0] != '#') throw std::runtime_error("unsupported $ref '" + ref + "': only '#...' refers into this schema");
    const Json* at = &root_;
    std::size_t pos = 1;
    while (pos < ref.size()) {
      if (ref[pos] != '/') throw std::runtime_error("unresolvable $ref '" + ref + "'");
      const std::size_t next = std::min(ref.find('/', pos + 1), ref.size());
      std::string token = ref.substr(pos + 1, next - pos - 1);
      for (std::size_t i = 0; (i = token.find('~', i)) != std::string::npos; ++i)
        token.replace(i, 2, i + 1 < token.size() && token[i + 1] == '1' ? "/" : "~");
      const Json* child = at->is_object() ? at->find(token) : nullptr;
      if (!child && at->is_array() && !token.empty() && std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c) != 0; }) &&
          std::stoul(token) < at->size())
        child = &at->at(static_cast<std::size_t>(std::stoul(token)));
      if (!child) throw std::runtime_error("unresolvable $ref '" + ref + "'");
      at = child;
      pos = next;
    }
    return *at;
  }

  // Whether a branch is the null type (the exit of a nullable or recursive member).
  static bool is_null_branch(const Json& s) {
    return s.is_object() && ((s.find("type") && s.at("type").is_string() && s.at("type").as_string() == "null") ||
                             (s.find("const") && s.at("const").is_null()));
  }

  // The branch of an anyOf/oneOf to generate: the first non-null one, or
  // past half the depth limit the first null (or else first) one, which ends a recursion.
  const Json& pick(const Json& branches, int depth) {
    const auto& list = branches.as_array();
    if (depth > max_depth / 2) {
      for (const auto& b : list)
        if (is_null_branch(b)) return b;
      for (const auto& b : list)
        if (!b.is_object() || !b.contains("$ref")) return b;
      return list.front();
    }
    for (const auto& b : list)
      if (!is_null_branch(b)) return b;
    return list.front();
  }

  // allOf as one schema: its members' keywords (properties and required joined) over the schema's own.
  Json merge(const Json& schema, const Json& all) {
    Json out = Json::object();
    for (const auto& [k, v] : schema.as_object())
      if (k != "allOf") out.set(k, v);
    for (const auto& part0 : all.as_array()) {
      const Json& part = part0.is_object() && part0.contains("$ref") && part0.at("$ref").is_string()
                             ? resolve(part0.at("$ref").as_string())
                             : part0;
      if (!part.is_object()) continue;
      for (const auto& [k, v] : part.as_object()) {
        if (k == "properties" && v.is_object()) {
          Json props = out.contains("properties") ? out.at("properties") : Json::object();
          for (const auto& [pk, pv] : v.as_object()) props.set(pk, pv);
          out.set("properties", props);
        } else if (k == "required" && v.is_array()) {
          Json req = out.contains("required") ? out.at("required") : Json::array();
          for (const auto& r : v.as_array()) req.push_back(r);
          out.set("required", req);
        } else if (!out.contains(k)) {
          out.set(k, v);
        }
      }
    }
    return out;
  }

  static std::string type_of(const Json& schema) {
    if (const Json* t = schema.find("type")) {
      if (t->is_string()) return t->as_string();
      if (t->is_array()) {
        for (const auto& x : t->as_array())
          if (x.is_string() && x.as_string() != "null") return x.as_string();
        return "null";
      }
    }
    if (schema.contains("properties")) return "object";
    if (schema.contains("items")) return "array";
    return "";
  }

  Json object(const Json& schema, int depth) {
    Json out = Json::object();
    if (const Json* props = schema.find("properties"); props && props->is_object())
      for (const auto& [name, sub] : props->as_object()) out.set(name, value(sub, depth + 1));
    // Required members without a property schema (only where additional members are allowed).
    if (const Json* req = schema.find("required"); req && req->is_array())
      for (const auto& r : req->as_array())
        if (r.is_string() && !out.contains(r.as_string())) out.set(r.as_string(), Json("example"));
    return out;
  }

  Json array(const Json& schema, int depth) {
    const Json* items = schema.find("items");
    const Json* prefix = schema.find("prefixItems");
    long n = items || prefix ? 1 : 0;  // one item of a typed array: arrays of objects come back with a member
    if (const Json* m = schema.find("minItems"); m && m->is_integer()) n = std::max<long>(n, m->as_int());
    if (const Json* m = schema.find("maxItems"); m && m->is_integer()) n = std::min<long>(n, m->as_int());
    if (depth > max_depth / 2) n = schema.contains("minItems") && schema.at("minItems").is_integer() ? schema.at("minItems").as_int() : 0;
    Json out = Json::array();
    for (long i = 0; i < n; ++i) {
      const auto index = static_cast<std::size_t>(i);
      if (prefix && prefix->is_array() && index < prefix->size()) out.push_back(value(prefix->at(index), depth + 1));
      else out.push_back(items ? value(*items, depth + 1) : Json("example"));
    }
    return out;
  }

  static Json string(const Json& schema) {
    const std::string format = schema.value("format", "");
    std::string s = "example";
    if (format == "date-time") s = "2024-10-21T12:00:00Z";
    else if (format == "date") s = "2024-10-21";
    else if (format == "time") s = "12:00:00Z";
    else if (format == "duration") s = "P1D";
    else if (format == "email") s = "user@example.com";
    else if (format == "hostname") s = "example.com";
    else if (format == "ipv4") s = "192.0.2.1";
    else if (format == "ipv6") s = "2001:db8::1";
    else if (format == "uuid") s = "00000000-0000-4000-8000-000000000000";
    else if (format == "uri") s = "https://example.com/";
    if (const Json* m = schema.find("minLength"); m && m->is_integer() && static_cast<long>(s.size()) < m->as_int())
      s.append(static_cast<std::size_t>(m->as_int()) - s.size(), 'x');
    if (const Json* m = schema.find("maxLength"); m && m->is_integer() && static_cast<long>(s.size()) > m->as_int())
      s.resize(static_cast<std::size_t>(std::max<std::int64_t>(0, m->as_int())));
    return Json(s);
  }

  static double number(const Json& schema, bool integer) {
    double lo = -1e300, hi = 1e300;
    auto bound = [&](const char* key, double& target, double step, bool lower) {
      if (const Json* b = schema.find(key); b && b->is_number()) {
        const double v = b->as_double() + step;
        target = lower ? std::max(target, v) : std::min(target, v);
      }
    };
    const double step = integer ? 1.0 : 0.5;
    bound("minimum", lo, 0, true);
    bound("exclusiveMinimum", lo, step, true);
    bound("maximum", hi, 0, false);
    bound("exclusiveMaximum", hi, -step, false);
    double v = std::clamp(0.0, lo, hi);
    if (integer) v = lo > 0 ? std::ceil(v) : std::floor(v);
    if (const Json* m = schema.find("multipleOf"); m && m->is_number() && m->as_double() > 0) {
      const double k = m->as_double();
      v = std::ceil(v / k) * k;
    }
    return v;
  }

  const Json& root_;
  long nodes_ = 0;
};

}  // namespace

Json schema_instance(const Json& schema) { return Generator(schema).value(schema, 0); }

std::string schema_violation(const Json& schema, const Json& value) {
  rapidjson::Document sd;
  const std::string schema_text = schema.dump();
  sd.Parse(schema_text.c_str(), schema_text.size());
  if (sd.HasParseError()) throw std::runtime_error("the schema is not JSON");
  const rapidjson::SchemaDocument compiled(sd);
  rapidjson::Document vd;
  const std::string value_text = value.dump();
  vd.Parse(value_text.c_str(), value_text.size());
  rapidjson::SchemaValidator validator(compiled);
  if (vd.Accept(validator)) return "";
  rapidjson::StringBuffer where, schema_where;
  validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
  validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_where);
  return std::string(where.GetString()) + ": " + validator.GetInvalidSchemaKeyword() + " at " + schema_where.GetString();
}

}  // namespace emulator
