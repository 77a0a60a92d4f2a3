// make_http_error on arbitrary statuses, retry headers and error bodies: the
// result is always a chainpp::Error (ProviderError) carrying that status.
#include "fuzz_check.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  static constexpr int kStatuses[] = {400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504};
  const int status = fdp.ConsumeBool() ? fdp.PickValueInArray(kStatuses) : fdp.ConsumeIntegralInRange(-1, 999);
  chainpp::HttpHeaders headers;
  if (fdp.ConsumeBool()) headers.emplace_back("retry-after", fdp.ConsumeRandomLengthString(24));
  if (fdp.ConsumeBool()) headers.emplace_back("Retry-After-Ms", fdp.ConsumeRandomLengthString(24));
  if (fdp.ConsumeBool()) headers.emplace_back("apim-request-id", fdp.ConsumeRandomLengthString(40));
  if (fdp.ConsumeBool()) headers.emplace_back("x-should-retry", fdp.ConsumeRandomLengthString(8));
  const int attempts = fdp.ConsumeIntegralInRange(1, 5);
  const std::string body = fdp.ConsumeRemainingBytesAsString();

  const std::exception_ptr error = chainpp::make_http_error("azure_openai", status, headers, body, attempts);
  chainpp::fuzz::check(error != nullptr, "make_http_error returns an exception");
  try {
    std::rethrow_exception(error);
  } catch (const chainpp::ProviderError& e) {
    chainpp::fuzz::check(e.status() == status, "the error carries the status");
    (void)e.info().body.dump();
  }
  return 0;
}
