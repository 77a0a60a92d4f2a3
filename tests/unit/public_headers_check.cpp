// Compiled, never run: every public header but plugin.hpp (the one a plugin
// includes to export itself with Boost.DLL) must build without Boost, Poco,
// yaml-cpp or RapidJSON, so that a host needs none of their headers.
#include <chainpp/app.hpp>
#include <chainpp/batch_runner.hpp>
#include <chainpp/callbacks.hpp>
#include <chainpp/chat_model.hpp>
#include <chainpp/config.hpp>
#include <chainpp/credentials.hpp>
#include <chainpp/data_files.hpp>
#include <chainpp/diagnostics.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/export.hpp>
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/model_profiles.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>
#include <chainpp/provider.hpp>
#include <chainpp/rate_limiter.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/remote_batch.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/sse.hpp>
#include <chainpp/stream.hpp>
#include <chainpp/structured_output.hpp>
#include <chainpp/terminal.hpp>
#include <chainpp/tools.hpp>
#include <chainpp/tracer.hpp>
#include <chainpp/usage_cost.hpp>
#include <chainpp/value.hpp>

#if defined(BOOST_CONFIG_HPP) || defined(BOOST_VERSION)
#error "a public header includes Boost"
#endif
#if defined(Foundation_Foundation_INCLUDED) || defined(POCO_VERSION)
#error "a public header includes Poco"
#endif
#if defined(YAML_H_62B23520_7C8E_11DE_8A39_0800200C9A66) || defined(YAML_CPP_API)
#error "a public header includes yaml-cpp"
#endif
#if defined(RAPIDJSON_RAPIDJSON_H_) || defined(RAPIDJSON_VERSION_STRING)
#error "a public header includes RapidJSON"
#endif
