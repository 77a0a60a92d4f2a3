#pragma once
// Internal: the files of a batch (see chainpp/batch_runner.hpp), shared by the
// local runner and remote batches: the inputs, the locked and resumed output
// file, and the result lines written to it.
#include <chainpp/messages.hpp>
#include <chainpp/value.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chainpp::detail {

/// One non-blank line of an inputs file.
struct BatchInput {
  std::size_t line = 0;  ///< 1-based line number in the inputs file
  std::string text;
  int requeues = 0;      ///< times put back after a rate limit (local runs)
};

/// The inputs file of a batch: its non-blank lines, and which file it is.
struct BatchInputs {
  std::string path;
  std::vector<BatchInput> lines;  ///< in the order of the file
  std::uint64_t device = 0;       ///< st_dev of the file read
  std::uint64_t inode = 0;        ///< st_ino of the file read
  /// Whether `line` (1-based) is one of `lines`.
  bool has_line(std::size_t line) const;
};

/// The inputs file; InputError when it cannot be read.
BatchInputs read_batch_inputs(const std::string& path);

/// The pipeline inputs of one input line; InputError for a line that is not a
/// JSON object or lacks one of `required`.
ValueMap batch_input_variables(const std::string& text, const std::vector<std::string>& required);

/// The output file of a batch, opened for appending and locked against a
/// second batch for as long as this object lives. Opening resumes it: a torn
/// last line (no newline after it) that begins as a result line does is
/// truncated away, and with `drop_failed` failed results are removed (the file
/// is rewritten atomically). Anything else is refused with an InputError
/// before the file is changed: a line that is not a result line
/// ({"line":N,"output":...,"usage":...,"error":...}, these four members), and,
/// given `inputs`, the inputs file itself (the same device and inode, whatever
/// the path) and a result for a line N that is not a non-blank line of
/// `inputs` (a result of another batch). An output that is not a regular file
/// (a pipe, a terminal, /dev/stdout) is only written: never read back or locked.
class BatchOutputFile {
public:
  BatchOutputFile(const std::string& path, bool drop_failed, const BatchInputs* inputs);
  ~BatchOutputFile();
  BatchOutputFile(const BatchOutputFile&) = delete;
  BatchOutputFile& operator=(const BatchOutputFile&) = delete;

  /// Input line -> whether its recorded result succeeded.
  const std::map<std::size_t, bool>& results() const { return results_; }
  /// Appends `line` and a newline with one write(2) (fdatasync after it with
  /// `sync`). Not synchronised: callers serialise.
  void append(const std::string& line, bool sync);
  /// fsync(2) of the file.
  void sync();

private:
  std::string path_;
  int fd_ = -1;
  std::map<std::size_t, bool> results_;
};

/// {"type":"RateLimitError","message":...,"status":429|null,"code":...|null,"request_id":...|null}
Json batch_error_json(const std::exception& error);
/// The error object of the exception `error` holds (anything not a std::exception: "unknown error").
Json batch_error_json(const std::exception_ptr& error);
/// A result's output: text, JSON, or with `json_output` a message's JSON form.
Json batch_output_json(const Value& output, bool json_output);
/// {"line":N,"output":...,"usage":{...}|null,"error":...} (no newline).
std::string batch_result_line(std::size_t line, Json output, const std::optional<UsageMetadata>& usage, Json error);

}  // namespace chainpp::detail
