// Micro-benchmarks of chainpp's hot paths (Google Benchmark): request bodies,
// completion parsing, SSE + stream-chunk parsing, chunk merging, prompt
// formatting and callback dispatch. Run by tools/run-bench.sh.
#include "openai_wire.hpp"
#include "responses.hpp"

#include <chainpp/callbacks.hpp>
#include <chainpp/chat_model.hpp>
#include <chainpp/prompts.hpp>
#include <chainpp/sse.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

namespace {

using namespace chainpp;

const char* const kCfr =
    R"({"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},)"
    R"("sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}})";

// The body nginx's `bench` deployment answers (bench/nginx/nginx.conf).
std::string completion_body() {
  return std::string(R"({"choices":[{"content_filter_results":)") + kCfr +
         R"(,"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"J'adore la programmation.","role":"assistant"}}],)"
         R"("created":1732471200,"id":"chatcmpl-AXbench0InvokeId0000000000000","model":"gpt-35-turbo","object":"chat.completion",)"
         R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":)" +
         kCfr + R"(}],"system_fingerprint":null,"usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39}})";
}

// An Azure stream as bench/nginx/make_stream.py writes it: a filter-only
// chunk, `n` content chunks, a finish chunk, [DONE].
std::string sse_stream(int n) {
  std::string out = std::string(R"(data: {"choices":[],"created":0,"id":"","model":"","object":"",)") +
                    R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":)" + kCfr + "}]}\n\n";
  const std::string tail =
      R"(,"finish_reason":null,"index":0,"logprobs":null}],"created":1732471200,"id":"chatcmpl-AXbench0StreamId0000000000000",)"
      R"("model":"gpt-35-turbo","object":"chat.completion.chunk","system_fingerprint":null})";
  for (int i = 0; i < n; ++i) {
    out += std::string(R"(data: {"choices":[{"content_filter_results":)") + kCfr + R"(,"delta":)";
    out += i == 0 ? R"({"role":"assistant","content":"tok "})" : R"({"content":"tok "})";
    out += tail + "\n\n";
  }
  out += R"(data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],)"
         R"("created":1732471200,"id":"chatcmpl-AXbench0StreamId0000000000000","model":"gpt-35-turbo",)"
         R"("object":"chat.completion.chunk","system_fingerprint":null})"
         "\n\ndata: [DONE]\n\n";
  return out;
}

std::vector<ToolDefinition> tools() {
  return {tool_from_function("get_weather", "Current weather of a city",
                             {{"location", "string", "City and country"}, {"unit", "string", "celsius or fahrenheit", false}}),
          tool_from_function("get_time", "Local time of a city", {{"location", "string", "City and country"}}),
          tool_from_function("search", "Web search", {{"query", "string", "What to look for"},
                                                      {"count", "integer", "Results wanted", false}})};
}

// A 20-message conversation: system, then human / AI (some with tool calls) / tool turns.
Messages conversation() {
  Messages m{SystemMessage("You are a helpful assistant that answers questions about the weather and time.")};
  int call = 0;
  while (m.size() < 20) {
    m.push_back(HumanMessage("What is the weather in Paris, and what time is it there? Please be brief."));
    if (m.size() % 3 == 0) {
      const std::string id = "call_" + std::to_string(call++);
      m.push_back(AIMessage("", {ToolCall{"get_weather", Json{{"location", "Paris, France"}}, id}}));
      m.push_back(ToolMessage(R"({"temperature":22,"unit":"celsius","sky":"sunny"})", id));
    } else {
      m.push_back(AIMessage("It is sunny and 22 degrees in Paris; the local time is 14:05."));
    }
  }
  m.resize(20);
  return m;
}

void BM_RequestBodyShort(benchmark::State& state) {
  const Messages messages{SystemMessage("You are a helpful assistant that translates English to French."),
                          HumanMessage("I love programming.")};
  CallOptions options;
  options.temperature = 0;
  const openai_wire::RequestShape shape;
  for (auto _ : state) benchmark::DoNotOptimize(openai_wire::build_request_body(messages, options, shape));
}
BENCHMARK(BM_RequestBodyShort);

void BM_RequestBodyConversation20Tools(benchmark::State& state) {
  const Messages messages = conversation();
  CallOptions options;
  options.temperature = 0;
  options.tools = tools();
  options.tool_choice = Json("auto");
  const openai_wire::RequestShape shape;
  for (auto _ : state) benchmark::DoNotOptimize(openai_wire::build_request_body(messages, options, shape));
}
BENCHMARK(BM_RequestBodyConversation20Tools);

void BM_ParseCompletion(benchmark::State& state) {
  const std::string body = completion_body();
  const openai_wire::ResponseShape shape{"azure_openai", "", ""};
  for (auto _ : state) benchmark::DoNotOptimize(openai_wire::parse_completion(body, shape));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseCompletion);

// The whole stream path minus the socket: 4 KiB reads -> SseParser -> StreamDecoder.
void BM_SseStream1000Chunks(benchmark::State& state) {
  const std::string body = sse_stream(1000);
  constexpr std::size_t read_size = 4096;
  std::int64_t chunks = 0;
  for (auto _ : state) {
    SseParser sse;
    openai_wire::StreamDecoder decoder(openai_wire::ResponseShape{"azure_openai", "", ""});
    for (std::size_t at = 0; at < body.size(); at += read_size) {
      sse.feed(std::string_view(body).substr(at, read_size));
      while (auto e = sse.next()) {
        benchmark::DoNotOptimize(decoder.decode(e->data));
        ++chunks;
      }
    }
    if (!sse.finish()) state.SkipWithError("stream not complete");
  }
  state.SetItemsProcessed(chunks);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_SseStream1000Chunks);

// A Responses API stream of `n` text deltas, shaped as the specification's
// streaming transcript (tests/data/openai-responses/stream_text.sse), with
// the sequence_number and logprobs today's service adds to each event.
std::string responses_sse_stream(int n) {
  const std::string resp = R"("id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response",)"
                           R"("created_at":1741290958,"model":"gpt-5.4","error":null,"incomplete_details":null,)";
  const std::string item = R"("item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,)"
                           R"("content_index":0,)";
  int seq = 0;
  auto event = [&](const std::string& type, const std::string& body) {
    return "event: " + type + "\ndata: {\"type\":\"" + type + "\"," + body + ",\"sequence_number\":" +
           std::to_string(seq++) + "}\n\n";
  };
  std::string out = event("response.created", R"("response":{)" + resp + R"("status":"in_progress","output":[],"usage":null})");
  out += event("response.in_progress", R"("response":{)" + resp + R"("status":"in_progress","output":[],"usage":null})");
  out += event("response.output_item.added",
               R"("output_index":0,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message",)"
               R"("status":"in_progress","role":"assistant","content":[]})");
  out += event("response.content_part.added", item + R"("part":{"type":"output_text","text":"","annotations":[]})");
  std::string text;
  for (int i = 0; i < n; ++i) {
    out += event("response.output_text.delta", item + R"("delta":"tok ","logprobs":[])");
    text += "tok ";
  }
  const std::string part = R"({"type":"output_text","text":")" + text + R"(","annotations":[]})";
  const std::string message = R"({"id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","type":"message",)"
                              R"("status":"completed","role":"assistant","content":[)" + part + "]}";
  out += event("response.output_text.done", item + R"("text":")" + text + R"(","logprobs":[])");
  out += event("response.content_part.done", item + R"("part":)" + part);
  out += event("response.output_item.done", R"("output_index":0,"item":)" + message);
  out += event("response.completed", R"("response":{)" + resp + R"("status":"completed","output":[)" + message +
                                         R"(],"usage":{"input_tokens":37,"output_tokens":)" + std::to_string(n) +
                                         R"(,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":)" +
                                         std::to_string(37 + n) + "}}");
  return out;
}

// The Responses stream path minus the socket: 4 KiB reads -> SseParser ->
// ResponsesStreamDecoder (items: the text deltas, the content chunks).
void BM_ResponsesStream1000Chunks(benchmark::State& state) {
  const std::string body = responses_sse_stream(1000);
  constexpr std::size_t read_size = 4096;
  std::int64_t chunks = 0;
  for (auto _ : state) {
    SseParser sse;
    openai_wire::ResponsesStreamDecoder decoder(openai_wire::ResponseShape{"openai", "", ""});
    for (std::size_t at = 0; at < body.size(); at += read_size) {
      sse.feed(std::string_view(body).substr(at, read_size));
      while (auto e = sse.next()) {
        const AIMessageChunk chunk = decoder.decode(e->data);
        chunks += chunk.content.empty() ? 0 : 1;
        benchmark::DoNotOptimize(chunk);
      }
    }
    if (!decoder.finished()) state.SkipWithError("stream not complete");
  }
  state.SetItemsProcessed(chunks);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ResponsesStream1000Chunks);

// SseParser alone (the same stream and reads), to split the figure above.
void BM_SseParserOnly1000Chunks(benchmark::State& state) {
  const std::string body = sse_stream(1000);
  std::int64_t events = 0;
  for (auto _ : state) {
    SseParser sse;
    for (std::size_t at = 0; at < body.size(); at += 4096) {
      sse.feed(std::string_view(body).substr(at, 4096));
      while (auto e = sse.next()) {
        benchmark::DoNotOptimize(e->data.data());
        ++events;
      }
    }
  }
  state.SetItemsProcessed(events);
}
BENCHMARK(BM_SseParserOnly1000Chunks);

std::vector<AIMessageChunk> decoded_chunks(int n) {
  const std::string body = sse_stream(n);
  SseParser sse;
  sse.feed(body);
  openai_wire::StreamDecoder decoder(openai_wire::ResponseShape{"azure_openai", "", ""});
  std::vector<AIMessageChunk> out;
  while (auto e = sse.next()) out.push_back(decoder.decode(e->data));
  return out;
}

void BM_MergeChunks1000(benchmark::State& state) {
  const auto chunks = decoded_chunks(1000);
  for (auto _ : state) {
    AIMessageChunk merged;
    for (const auto& c : chunks) merged += c;
    benchmark::DoNotOptimize(merged.content.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(chunks.size()));
}
BENCHMARK(BM_MergeChunks1000);

void BM_PromptFormat(benchmark::State& state) {
  auto prompt = ChatPromptTemplate::from_messages(
      {{"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
       {"human", "{input}"}});
  const ValueMap vars{{"input_language", "English"}, {"output_language", "French"}, {"input", "I love programming."}};
  for (auto _ : state) benchmark::DoNotOptimize(prompt->format_messages(vars));
}
BENCHMARK(BM_PromptFormat);

class CountingHandler : public CallbackHandler {
public:
  void on_llm_new_token(const RunInfo&, const std::string& token, const AIMessageChunk&) override {
    bytes.fetch_add(token.size(), std::memory_order_relaxed);
  }
  std::atomic<std::size_t> bytes{0};
};

void BM_CallbackDispatchNoHandler(benchmark::State& state) {
  const RunManager run;
  AIMessageChunk chunk;
  chunk.content = "tok ";
  for (auto _ : state) {
    run.new_token(chunk.content, chunk);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CallbackDispatchNoHandler);

void BM_CallbackDispatchOneHandler(benchmark::State& state) {
  auto handler = std::make_shared<CountingHandler>();
  const RunManager run(Callbacks{handler}, RunInfo{new_uuid(), "", "AzureChatOpenAI", "chat_model"});
  AIMessageChunk chunk;
  chunk.content = "tok ";
  for (auto _ : state) run.new_token(chunk.content, chunk);
  benchmark::DoNotOptimize(handler->bytes.load());
}
BENCHMARK(BM_CallbackDispatchOneHandler);

}  // namespace

BENCHMARK_MAIN();
