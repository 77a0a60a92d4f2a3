// Deliberately conflicting: provides `fake`, which the fake plugin provides too.
#include <chainpp/plugin.hpp>

namespace {
std::shared_ptr<chainpp::ChatModel> make(const chainpp::ConfigNode& config, const chainpp::ProviderContext&) {
  config.fail("test_dup never creates models");
}
chainpp::PluginDescriptor describe() { return {"test_dup", "0.0.1", CHAINPP_ABI_VERSION, {{"fake", &make}}}; }
}  // namespace

CHAINPP_PLUGIN(describe)
