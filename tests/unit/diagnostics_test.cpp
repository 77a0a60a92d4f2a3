// Diagnostics go to the handler the host installs, and by default to stderr.
#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/callbacks.hpp>
#include <chainpp/diagnostics.hpp>

#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

using namespace chainpp;
using chainpp::test::ScriptedModel;

namespace {

// A handler that fails in on_llm_end.
struct ThrowingHandler : CallbackHandler {
  void on_llm_end(const RunInfo&, const AIMessage&) override { throw std::runtime_error("boom"); }
};

AIMessage invoke_with_throwing_handler() {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"Bonjour"});
  RunConfig config;
  config.callbacks = {std::make_shared<ThrowingHandler>()};
  return model->invoke(Messages{HumanMessage("Hello")}, {}, config);
}

// What `fn` writes to stderr (fd 2).
template <class Fn>
std::string stderr_of(Fn&& fn) {
  std::fflush(stderr);
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  const int saved = ::dup(2);
  ::dup2(::fileno(capture), 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::rewind(capture);
  std::string out;
  for (int c; (c = std::fgetc(capture)) != EOF;) out += static_cast<char>(c);
  std::fclose(capture);
  return out;
}

}  // namespace

TEST_CASE("a failing callback handler is reported to the installed diagnostic handler, not stderr") {
  std::vector<Diagnostic> seen;
  set_diagnostic_handler([&](const Diagnostic& d) { seen.push_back(d); });
  std::string text;
  const std::string err = stderr_of([&] { text = invoke_with_throwing_handler().text(); });
  set_diagnostic_handler({});
  REQUIRE(text == "Bonjour");  // the run went on
  REQUIRE(err.empty());
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0].kind == DiagnosticKind::handler_error);
  REQUIRE(seen[0].message == "callback handler failed in on_llm_end: boom");
}

TEST_CASE("the default diagnostic handler writes one line to stderr") {
  set_diagnostic_handler({});
  const std::string err = stderr_of([] { invoke_with_throwing_handler(); });
  REQUIRE(err == "chainpp: callback handler failed in on_llm_end: boom\n");
  const std::string warning =
      stderr_of([] { report_diagnostic({DiagnosticKind::warning, "something is unsafe"}); });
  REQUIRE(warning == "chainpp: warning: something is unsafe\n");
  const std::string forged =
      stderr_of([] { report_diagnostic({DiagnosticKind::warning, "bad\x1b[2J\r\nchainpp: fake \xff"}); });
  REQUIRE(forged == "chainpp: warning: bad\\u001b[2J\\r\\nchainpp: fake \\xff\n");
}

TEST_CASE("a diagnostic handler that throws does not fail the caller") {
  set_diagnostic_handler([](const Diagnostic&) { throw std::runtime_error("handler broke"); });
  std::string text;
  REQUIRE_NOTHROW(text = invoke_with_throwing_handler().text());
  set_diagnostic_handler({});
  REQUIRE(text == "Bonjour");
}
