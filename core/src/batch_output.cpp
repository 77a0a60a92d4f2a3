#include "batch_output.hpp"

#include <chainpp/errors.hpp>

#include <cxxabi.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <typeinfo>

namespace chainpp::detail {

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("batch: cannot read '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError("batch: cannot write '" + path + "': " + std::strerror(errno));
    written += static_cast<std::size_t>(n);
  }
}

/// Opens the output file for appending, locked against a second batch writing it.
int open_output(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("batch: cannot write '" + path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw InputError("batch: '" + path + "' is being written by another batch");
  }
  return fd;
}

struct Existing {
  std::map<std::size_t, bool> results;  // input line -> succeeded
  bool rewritten = false;               // the file was replaced by a new one
};

/// The results already in an output file. Truncates a torn last line away; with
/// `drop_failed`, rewrites the file without failed results (atomically: a new
/// file renamed over the old one).
Existing load_results(const std::string& path, bool drop_failed) {
  Existing existing;
  auto& results = existing.results;
  std::string data = read_all(path);

  struct Line {
    std::size_t begin, end;  // [begin, end) without the newline
    std::size_t input_line;
    bool ok;
  };
  std::vector<Line> lines;
  std::size_t keep = 0;  // bytes of complete, valid lines
  std::size_t pos = 0;
  std::size_t number = 0;
  while (pos < data.size()) {
    const std::size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;  // torn: no newline
    ++number;
    std::optional<Line> parsed;
    try {
      Json j = Json::parse(std::string_view(data).substr(pos, nl - pos));
      const Json* line = j.is_object() ? j.find("line") : nullptr;
      const Json* error = j.is_object() ? j.find("error") : nullptr;
      if (line && line->is_integer() && line->as_int() > 0 && error)
        parsed = Line{pos, nl, static_cast<std::size_t>(line->as_int()), error->is_null()};
    } catch (const JsonError&) {
    }
    if (!parsed) {
      if (nl + 1 < data.size())
        throw InputError("batch: " + path + ":" + std::to_string(number) + ": not a batch result line");
      break;  // the last line, cut by a killed run: dropped
    }
    lines.push_back(*parsed);
    pos = nl + 1;
    keep = pos;
  }
  if (keep < data.size()) fs::resize_file(path, keep);

  bool rewrite = false;
  for (const auto& l : lines) {
    if (results.count(l.input_line)) rewrite = true;  // a duplicate: the later result wins
    results[l.input_line] = l.ok;
    if (!l.ok && drop_failed) rewrite = true;
  }
  if (!rewrite) return existing;

  // Keep the last result of each input line, minus failures when retrying them.
  std::map<std::size_t, std::size_t> last;  // input line -> index in lines
  for (std::size_t i = 0; i < lines.size(); ++i) last[lines[i].input_line] = i;
  std::string kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (last[l.input_line] != i) continue;
    if (!l.ok && drop_failed) {
      results.erase(l.input_line);
      continue;
    }
    kept.append(data, l.begin, l.end - l.begin + 1);
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("batch: cannot write '" + tmp + "': " + std::strerror(errno));
  try {
    write_all(fd, kept, tmp);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::fsync(fd);
  ::close(fd);
  fs::rename(tmp, path);
  existing.rewritten = true;
  return existing;
}

/// The exception's class name without the chainpp:: prefix ("RateLimitError").
std::string type_name(const std::exception& e) {
  const char* mangled = typeid(e).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  if (name.rfind("chainpp::", 0) == 0) name.erase(0, 9);
  return name;
}

}  // namespace

std::vector<BatchInput> read_batch_inputs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("batch: cannot read inputs '" + path + "'");
  std::vector<BatchInput> inputs;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    inputs.push_back(BatchInput{line, std::move(text), 0});
  }
  return inputs;
}

ValueMap batch_input_variables(const std::string& text, const std::vector<std::string>& required) {
  Json parsed;
  try {
    parsed = Json::parse(text);
  } catch (const JsonError& e) {
    throw InputError(std::string("invalid JSON: ") + e.what());
  }
  if (!parsed.is_object()) throw InputError("expected a JSON object of pipeline inputs");
  ValueMap variables;
  for (const auto& [key, value] : parsed.as_object())
    variables[key] = value.is_string() ? Value(value.as_string()) : Value::json(value);
  for (const auto& name : required)
    if (!variables.count(name)) throw InputError("missing input '" + name + "'");
  return variables;
}

BatchOutputFile::BatchOutputFile(const std::string& path, bool drop_failed) : path_(path), fd_(open_output(path)) {
  try {
    Existing existing = load_results(path, drop_failed);
    if (existing.rewritten) {  // append to the new file
      ::close(fd_);
      fd_ = -1;
      fd_ = open_output(path);
    }
    results_ = std::move(existing.results);
  } catch (...) {
    if (fd_ >= 0) ::close(fd_);
    throw;
  }
}

BatchOutputFile::~BatchOutputFile() { ::close(fd_); }

void BatchOutputFile::append(const std::string& line, bool sync) {
  write_all(fd_, line + '\n', path_);
  if (sync) ::fdatasync(fd_);
}

void BatchOutputFile::sync() { ::fsync(fd_); }

Json batch_error_json(const std::exception& e) {
  Json status, code, request_id;
  if (const auto* p = dynamic_cast<const ProviderError*>(&e)) {
    if (p->status() > 0) status = p->status();
    if (!p->code().empty()) code = p->code();
    if (!p->request_id().empty()) request_id = p->request_id();
  }
  return Json{{"type", type_name(e)}, {"message", e.what()}, {"status", status}, {"code", code},
              {"request_id", request_id}};
}

Json batch_error_json(const std::exception_ptr& error) {
  if (!error) return batch_error_json(std::runtime_error("unknown error"));
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return batch_error_json(e);
  } catch (...) {
    return batch_error_json(std::runtime_error("unknown error"));
  }
}

Json batch_output_json(const Value& v, bool json_output) {
  if (json_output) return v.is_chunk() ? v.as_chunk().to_message().to_json() : v.to_json();
  if (v.is_json()) return v.as_json();
  return v.to_text();
}

std::string batch_result_line(std::size_t line, Json output, const std::optional<UsageMetadata>& usage, Json error) {
  return Json{{"line", line}, {"output", std::move(output)}, {"usage", usage ? usage->to_json() : Json()},
              {"error", std::move(error)}}
      .dump();
}

}  // namespace chainpp::detail
