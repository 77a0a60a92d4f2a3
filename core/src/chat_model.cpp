#include "run_concurrently.hpp"

#include <chainpp/chat_model.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/output_parsers.hpp>

#include <thread>

namespace chainpp {

std::string ChatModel::name() const { return "Chat" + provider(); }

Json ChatModel::invocation_params(const CallOptions& options) const {
  Json p{{"provider", provider()}};
  const Json set = generation_options_json(options);
  for (const auto& [name, value] : set.as_object()) p.set(name, value);
  return p;
}

Json ChatModel::to_config() const { return Json{{"provider", provider()}}; }

std::string ChatModel::describe_call(const CallOptions&) const { return {}; }

namespace {

std::string message_id(const RunManager& run) { return "run-" + run.info().id + "-0"; }

// Records on `e` what the call was sent to, once (the innermost model's name wins).
void name_the_call(ProviderError& e, const std::string& call) {
  if (!call.empty()) e.set_call(call);
}

// `options` with tool_choice normalised against its tools: the one place
// every call and bind_tools send tool_choice through.
CallOptions with_tool_choice_normalized(CallOptions options) {
  if (options.tool_choice) options.tool_choice = normalize_tool_choice(*options.tool_choice, options.tools);
  return options;
}

}  // namespace

AIMessage ChatModel::invoke(const Messages& messages, const CallOptions& options, const RunConfig& config) const {
  throw_if_cancelled(config.stop, provider());
  const CallOptions opts = with_tool_choice_normalized(options.over(bound_));
  check_generation_options(opts);
  const RunManager run = start_run(config);
  if (run.active()) run.chat_model_start(messages, invocation_params(opts));
  try {
    if (limiter_) limiter_->acquire();
    const CallContext ctx{run, config.stop};
    AIMessage result;
    if (prefers_streaming()) {
      AIMessageChunk merged;
      auto s = generate_stream(messages, opts, ctx);
      while (auto c = s.next()) {
        run.new_token(c->content, *c);
        merged += *c;
      }
      result = merged.to_message();
    } else {
      result = generate(messages, opts, ctx);
    }
    result.id = message_id(run);
    run.llm_end(result);
    return result;
  } catch (ProviderError& e) {
    name_the_call(e, describe_call(opts));
    run.llm_error(e);
    throw;
  } catch (const std::exception& e) {
    run.llm_error(e);
    throw;
  }
}

AIMessage ChatModel::invoke(std::string_view text, const CallOptions& options, const RunConfig& config) const {
  return invoke(Messages{HumanMessage(std::string(text))}, options, config);
}

Stream<AIMessageChunk> ChatModel::stream(std::string_view text, const CallOptions& options,
                                         const RunConfig& config) const {
  return stream(Messages{HumanMessage(std::string(text))}, options, config);
}

Stream<AIMessageChunk> ChatModel::stream(const Messages& messages, const CallOptions& options,
                                         const RunConfig& config) const {
  struct State {
    RunManager run;
    Stream<AIMessageChunk> inner;
    AIMessageChunk merged;
    std::string id;
    std::shared_ptr<const Runnable> keep_alive;
    std::stop_token stop;
    std::string provider;
    std::string call;  // describe_call(opts), for an error mid-stream
  };
  throw_if_cancelled(config.stop, provider());
  const CallOptions opts = with_tool_choice_normalized(options.over(bound_));
  check_generation_options(opts);
  auto st = std::make_shared<State>();
  st->run = start_run(config);
  st->id = message_id(st->run);
  st->keep_alive = weak_from_this().lock();
  st->stop = config.stop;
  st->provider = provider();
  st->call = describe_call(opts);
  if (st->run.active()) st->run.chat_model_start(messages, invocation_params(opts));
  try {
    if (limiter_) limiter_->acquire();
    st->inner = generate_stream(messages, opts, CallContext{st->run, st->stop});
  } catch (ProviderError& e) {
    name_the_call(e, st->call);
    st->run.llm_error(e);
    throw;
  } catch (const std::exception& e) {
    st->run.llm_error(e);
    throw;
  }
  return Stream<AIMessageChunk>([st]() -> std::optional<AIMessageChunk> {
    try {
      if (st->stop.stop_requested()) {
        ProviderErrorInfo info;
        info.provider = st->provider;
        throw CancelledError(st->provider + ": the stream was cancelled", std::move(info));
      }
      auto c = st->inner.next();
      if (!c) {
        AIMessage done = st->merged.to_message();
        done.id = st->id;
        st->run.llm_end(done);
        return std::nullopt;
      }
      c->id = st->id;
      if (st->run.active()) {
        st->merged += *c;
        st->run.new_token(c->content, *c);
      }
      return c;
    } catch (ProviderError& e) {
      name_the_call(e, st->call);
      st->run.llm_error(e);
      throw;
    } catch (const std::exception& e) {
      st->run.llm_error(e);
      throw;
    }
  });
}

std::vector<AIMessage> ChatModel::batch(const std::vector<Messages>& inputs, const CallOptions& options,
                                        const RunConfig& config) const {
  std::vector<AIMessage> out(inputs.size());
  detail::run_concurrently(inputs.size(), config.max_concurrency,
                           [&](std::size_t i) { out[i] = invoke(inputs[i], options, config); });
  return out;
}

std::future<AIMessage> ChatModel::ainvoke(Messages messages, CallOptions options, RunConfig config) const {
  auto self = weak_from_this().lock();
  return std::async(std::launch::async,
                    [this, self, messages = std::move(messages), options = std::move(options),
                     config = std::move(config)] { return invoke(messages, options, config); });
}

std::future<std::vector<AIMessage>> ChatModel::abatch(std::vector<Messages> inputs, CallOptions options,
                                                     RunConfig config) const {
  auto self = weak_from_this().lock();
  return std::async(std::launch::async,
                    [this, self, inputs = std::move(inputs), options = std::move(options),
                     config = std::move(config)] { return batch(inputs, options, config); });
}

std::future<AIMessage> ChatModel::astream(Messages messages, std::function<void(const AIMessageChunk&)> on_chunk,
                                          CallOptions options, RunConfig config) const {
  auto self = weak_from_this().lock();
  return std::async(std::launch::async, [this, self, messages = std::move(messages), on_chunk = std::move(on_chunk),
                                         options = std::move(options), config = std::move(config)] {
    AIMessageChunk merged;
    for (auto& chunk : stream(messages, options, config)) {
      if (on_chunk) on_chunk(chunk);
      merged += chunk;
    }
    return merged.to_message();
  });
}

std::shared_ptr<ChatModel> ChatModel::keep_library(std::shared_ptr<ChatModel> copy) const {
  if (!library_) return copy;
  // The copy's code lives in the plugin: destroy the copy first (its control
  // block too, which the plugin instantiated), then let the library go. A copy
  // still owned elsewhere (weak_from_this()) keeps the library until exit.
  ChatModel* raw = copy.get();
  return std::shared_ptr<ChatModel>(raw, [copy = std::move(copy), library = library_](ChatModel*) mutable {
    if (copy.use_count() > 1) new std::shared_ptr<const void>(library);  // deliberately never released
    copy.reset();
    library.reset();
  });
}

std::shared_ptr<const ChatModel> ChatModel::bind(const CallOptions& options) const {
  auto copy = clone();
  copy->bound_ = options.over(bound_);
  return keep_library(std::move(copy));
}

std::shared_ptr<const ChatModel> ChatModel::bind_tools(std::vector<ToolDefinition> tools,
                                                       std::optional<Json> tool_choice,
                                                       std::optional<bool> parallel_tool_calls,
                                                       std::optional<bool> strict) const {
  if (strict)
    for (auto& t : tools) t.strict = *strict;
  CallOptions o;
  o.tools = std::move(tools);
  o.tool_choice = std::move(tool_choice);
  o.parallel_tool_calls = parallel_tool_calls;
  return bind(with_tool_choice_normalized(std::move(o)));
}

std::shared_ptr<const ChatModel> ChatModel::with_rate_limiter(std::shared_ptr<RateLimiter> limiter) const {
  auto copy = clone();
  copy->limiter_ = std::move(limiter);
  return keep_library(std::move(copy));
}

AIMessage ChatModel::generate(const Messages& messages, const CallOptions& options, const CallContext& ctx) const {
  AIMessageChunk merged;
  auto s = generate_stream(messages, options, ctx);
  while (auto c = s.next()) merged += *c;
  return merged.to_message();
}

Stream<AIMessageChunk> ChatModel::generate_stream(const Messages& messages, const CallOptions& options,
                                                  const CallContext& ctx) const {
  AIMessage m = generate(messages, options, ctx);
  AIMessageChunk c;
  c.content = m.text();
  c.name = m.name;
  c.response_metadata = m.response_metadata;
  c.usage_metadata = m.usage_metadata;
  int index = 0;
  for (const auto& call : m.tool_calls)
    c.tool_call_chunks.push_back(ToolCallChunk{call.name, call.args.dump(), call.id, index++});
  for (const auto& call : m.invalid_tool_calls)
    c.tool_call_chunks.push_back(ToolCallChunk{call.name, call.args, call.id, index++});
  return Stream<AIMessageChunk>::from_vector({std::move(c)});
}

namespace {

// The runnable with_structured_output returns: calls the bound model, extracts
// the JSON value from its answer, validates it against the schema.
class StructuredOutput final : public Runnable {
public:
  using Extract = std::function<Json(const AIMessage&)>;
  StructuredOutput(ChatModelPtr model, Extract extract, JsonSchema schema, bool include_raw)
      : model_(std::move(model)), extract_(std::move(extract)), schema_(std::move(schema)), include_raw_(include_raw) {}
  std::string name() const override { return "StructuredOutput"; }

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override {
    AIMessage raw = model_->invoke(to_messages(input), CallOptions{}, config);
    if (!include_raw_) return Value::json(parse(raw));
    Json out{{"raw", raw.to_json()}, {"parsed", nullptr}, {"parsing_error", nullptr}};
    try {
      out.set("parsed", parse(raw));
    } catch (const OutputParserError& e) {
      out.set("parsing_error", e.what());
    }
    return Value::json(std::move(out));
  }

private:
  Json parse(const AIMessage& raw) const {
    Json value = extract_(raw);
    schema_.validate(value);
    return value;
  }

  ChatModelPtr model_;
  Extract extract_;
  JsonSchema schema_;
  bool include_raw_;
};

}  // namespace

RunnablePtr ChatModel::with_structured_output(const Json& schema, StructuredOutputOptions options) const {
  JsonSchema validator(schema);
  const std::string name = !options.name.empty() ? options.name : schema.value("title", "output");
  ChatModelPtr bound;
  StructuredOutput::Extract extract = [](const AIMessage& m) { return parse_json_output(m.text()); };
  StructuredOutputMethod method = StructuredOutputMethod::json_schema;
  std::optional<bool> tool_strict = options.strict;
  if (options.method) {
    method = *options.method;
  } else if (const std::optional<ModelProfile> p = profile(); p && p->json_schema == false) {
    // No Structured Outputs (LangChain's fallback): a forced tool call, without
    // `strict`, which belongs to the same feature.
    method = StructuredOutputMethod::function_calling;
    tool_strict.reset();
  }
  switch (method) {
    case StructuredOutputMethod::json_schema: {
      CallOptions o;
      o.response_format = Json{{"type", "json_schema"},
                               {"json_schema", Json{{"name", name}, {"schema", schema}, {"strict", options.strict}}}};
      bound = bind(o);
      break;
    }
    case StructuredOutputMethod::json_mode: {
      CallOptions o;
      o.response_format = Json{{"type", "json_object"}};
      bound = bind(o);
      break;
    }
    case StructuredOutputMethod::function_calling: {
      ToolDefinition tool{name, schema.value("description", ""), schema, tool_strict, {}};
      bound = bind_tools({tool}, Json{{"type", "function"}, {"function", Json{{"name", name}}}});
      extract = [name](const AIMessage& m) -> Json {
        for (const auto& call : m.tool_calls)
          if (call.name == name) return call.args;
        for (const auto& bad : m.invalid_tool_calls)
          if (bad.name == name)
            throw OutputParserError("structured output: the arguments of tool call '" + name +
                                        "' are not a JSON object: " + bad.error,
                                    bad.args);
        throw OutputParserError("structured output: the model did not call the tool '" + name + "'", m.text());
      };
      break;
    }
  }
  return std::make_shared<StructuredOutput>(std::move(bound), std::move(extract), std::move(validator),
                                            options.include_raw);
}

Messages to_messages(const Value& input) {
  switch (input.kind()) {
    case Value::Kind::messages: return input.as_messages();
    case Value::Kind::message: return {input.as_message()};
    case Value::Kind::text: return {HumanMessage(input.as_text())};
    default:
      throw InputError(std::string("a chat model takes messages, a message or text, got a ") +
                       to_string(input.kind()) + " value");
  }
}

Value ChatModel::do_invoke(const Value& input, const RunConfig& config) const {
  return Value(static_cast<Message>(invoke(to_messages(input), CallOptions{}, config)));
}

Stream<Value> ChatModel::do_stream(const Value& input, const RunConfig& config) const {
  return stream(to_messages(input), CallOptions{}, config).map([](AIMessageChunk c) { return Value(std::move(c)); });
}

}  // namespace chainpp
