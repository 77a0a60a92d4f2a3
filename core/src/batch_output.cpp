#include "batch_output.hpp"

#include <chainpp/errors.hpp>

#include <cxxabi.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
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

/// The start every result line has: batch_result_line writes "line" first.
constexpr std::string_view result_start = "{\"line\":";

/// The input line of a result line, or 0 when `text` is not one: a JSON object
/// of exactly "line" (a positive integer), "output", "usage" (null or an
/// object) and "error" (null or an object). `ok` is set to whether it succeeded.
std::size_t result_line(std::string_view text, bool& ok) {
  try {
    const Json j = Json::parse(text);
    if (!j.is_object() || j.as_object().size() != 4) return 0;
    const Json *line = j.find("line"), *output = j.find("output"), *usage = j.find("usage"), *error = j.find("error");
    if (!line || !output || !usage || !error || !line->is_integer() || line->as_int() <= 0) return 0;
    if (!(usage->is_null() || usage->is_object()) || !(error->is_null() || error->is_object())) return 0;
    ok = error->is_null();
    return static_cast<std::size_t>(line->as_int());
  } catch (const JsonError&) {
    return 0;
  }
}

/// Whether `tail`, the end of a file after its last newline, is what a killed
/// run leaves of a result line: a start of `{"line":N,...` whose N, when it is
/// complete, is a line of `inputs`.
bool torn_result(std::string_view tail, const BatchInputs* inputs) {
  if (tail.size() <= result_start.size()) return result_start.substr(0, tail.size()) == tail;
  if (tail.substr(0, result_start.size()) != result_start) return false;
  const std::string_view rest = tail.substr(result_start.size());
  const std::size_t end = rest.find_first_not_of("0123456789");
  if (end == 0 || rest[0] == '0') return false;
  if (end == std::string_view::npos) return true;  // the number may be cut too
  std::size_t line = 0;
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + end, line);
  return rest[end] == ',' && ec == std::errc() && (!inputs || inputs->has_line(line));
}

/// Whether `fd` is a regular file (not a pipe, a terminal or a device such as /dev/stdout).
bool is_regular(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/// Opens the output file for appending, locked against a second batch writing
/// it (a pipe, a terminal or a device is neither locked nor read back).
int open_output(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("batch: cannot write '" + path + "': " + std::strerror(errno));
  if (is_regular(fd) && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw InputError("batch: '" + path + "' is being written by another batch");
  }
  return fd;
}

struct Existing {
  std::map<std::size_t, bool> results;  // input line -> succeeded
  bool rewritten = false;               // the file was replaced by a new one
};

/// The results already in an output file, checked against `inputs` (when
/// given) before anything changes. Truncates a torn last line away; with
/// `drop_failed`, rewrites the file without failed results (atomically: a new
/// file renamed over the old one).
Existing load_results(const std::string& path, bool drop_failed, const BatchInputs* inputs) {
  Existing existing;
  auto& results = existing.results;
  std::string data = read_all(path);

  struct Line {
    std::size_t begin, end;  // [begin, end) without the newline
    std::size_t input_line;
    bool ok;
  };
  std::vector<Line> lines;
  std::size_t pos = 0;
  std::size_t number = 0;
  while (pos < data.size()) {
    const std::size_t nl = data.find('\n', pos);
    ++number;
    const auto refuse = [&](const std::string& why) {
      throw InputError("batch: " + path + ":" + std::to_string(number) + ": " + why);
    };
    if (nl == std::string::npos) {  // torn: the last line, cut by a killed run, is dropped
      if (!torn_result(std::string_view(data).substr(pos), inputs)) refuse("not a batch result line");
      break;
    }
    bool ok = false;
    const std::size_t input_line = result_line(std::string_view(data).substr(pos, nl - pos), ok);
    if (input_line == 0) refuse("not a batch result line");
    if (inputs && !inputs->has_line(input_line))
      refuse("not a result of this batch ('" + inputs->path + "' has no input on line " +
             std::to_string(input_line) + ")");
    lines.push_back(Line{pos, nl, input_line, ok});
    pos = nl + 1;
  }
  if (pos < data.size()) fs::resize_file(path, pos);

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

bool BatchInputs::has_line(std::size_t line) const {
  const auto it = std::lower_bound(lines.begin(), lines.end(), line,
                                   [](const BatchInput& input, std::size_t n) { return input.line < n; });
  return it != lines.end() && it->line == line;
}

BatchInputs read_batch_inputs(const std::string& path) {
  BatchInputs inputs;
  inputs.path = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0) ::close(fd);
    throw InputError("batch: cannot read inputs '" + path + "'");
  }
  inputs.device = st.st_dev;
  inputs.inode = st.st_ino;
  std::string data;
  char buffer[65536];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw InputError("batch: cannot read inputs '" + path + "': " + std::strerror(errno));
    }
    data.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  std::istringstream in(data);
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    inputs.lines.push_back(BatchInput{line, std::move(text), 0});
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

BatchOutputFile::BatchOutputFile(const std::string& path, bool drop_failed, const BatchInputs* inputs)
    : path_(path), fd_(open_output(path)) {
  try {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw InputError("batch: cannot write '" + path + "': " + std::strerror(errno));
    if (inputs && st.st_dev == inputs->device && st.st_ino == inputs->inode)
      throw InputError("batch: the output '" + path + "' is the inputs file '" + inputs->path +
                       "'; choose another output file");
    if (!S_ISREG(st.st_mode)) return;  // a stream (/dev/stdout, a pipe): nothing to resume
    Existing existing = load_results(path, drop_failed, inputs);
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
  std::string message = e.what();
  if (const auto* p = dynamic_cast<const ProviderError*>(&e)) {
    message = p->described();
    if (p->status() > 0) status = p->status();
    if (!p->code().empty()) code = p->code();
    if (!p->request_id().empty()) request_id = p->request_id();
  }
  return Json{{"type", type_name(e)}, {"message", message}, {"status", status}, {"code", code},
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
