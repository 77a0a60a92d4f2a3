#include <chainpp/diagnostics.hpp>
#include <chainpp/terminal.hpp>

#include <cstdio>
#include <memory>
#include <mutex>

namespace chainpp {

namespace {

void write_to_stderr(const Diagnostic& d) {
  const char* prefix = d.kind == DiagnosticKind::warning ? "chainpp: warning: " : "chainpp: ";
  // A message can quote a server or an exception: nothing in it reaches the terminal raw.
  const std::string line = prefix + escape_for_terminal(d.message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// The handler, replaced as a whole under the mutex; reports run one at a time.
struct HandlerSlot {
  std::mutex mutex;
  DiagnosticHandler handler = write_to_stderr;
};

HandlerSlot& slot() {
  static HandlerSlot* s = new HandlerSlot();  // never destroyed: usable during static destruction
  return *s;
}

}  // namespace

void set_diagnostic_handler(DiagnosticHandler handler) {
  HandlerSlot& s = slot();
  std::lock_guard lock(s.mutex);
  s.handler = handler ? std::move(handler) : DiagnosticHandler(write_to_stderr);
}

void report_diagnostic(const Diagnostic& diagnostic) {
  HandlerSlot& s = slot();
  std::lock_guard lock(s.mutex);
  try {
    s.handler(diagnostic);
  } catch (...) {
    // A diagnostic never fails the caller.
  }
}

}  // namespace chainpp
