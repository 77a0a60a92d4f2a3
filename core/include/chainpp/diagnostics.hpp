#pragma once
// Diagnostics: what the library has to tell that is not a call's result or
// error, such as a callback handler that threw, or a setting that sends a
// credential over plain http://. chainpp never writes to stderr itself; it
// reports here, and the handler (by default one line on stderr) decides.
#include <chainpp/export.hpp>

#include <functional>
#include <string>

namespace chainpp {

/// What a diagnostic is about.
enum class DiagnosticKind {
  warning,        ///< a configuration that works but is unsafe or surprising
  handler_error,  ///< a callback handler threw (the run went on without it)
};

/// One diagnostic: its kind and a message that names what it is about and
/// never carries a credential.
struct CHAINPP_API Diagnostic {
  DiagnosticKind kind = DiagnosticKind::warning;
  std::string message;  ///< "callback handler failed in on_llm_end: boom"
};

/// Receives every diagnostic, from any thread (one at a time); it must not throw
/// (an exception from it is dropped).
using DiagnosticHandler = std::function<void(const Diagnostic&)>;

/// Replaces the handler; an empty one restores the default, which writes
/// "chainpp: <message>" (warnings: "chainpp: warning: <message>") and a
/// newline to stderr, the message through escape_for_terminal (chainpp/terminal.hpp).
///
///   chainpp::set_diagnostic_handler([](const chainpp::Diagnostic& d) { my_log(d.message); });
CHAINPP_API void set_diagnostic_handler(DiagnosticHandler handler);

/// Passes `diagnostic` to the handler.
CHAINPP_API void report_diagnostic(const Diagnostic& diagnostic);

}  // namespace chainpp
