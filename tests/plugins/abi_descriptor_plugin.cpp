// Deliberately broken: exports the right ABI symbol but a descriptor that
// claims another ABI version; the descriptor is checked too.
#include <chainpp/plugin.hpp>

namespace {
chainpp::PluginDescriptor describe() { return {"test_abi_descriptor", "0.0.1", CHAINPP_ABI_VERSION + 1, {}}; }
}  // namespace

CHAINPP_PLUGIN(describe)
