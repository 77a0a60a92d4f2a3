// usage_handler (see commands.hpp): what --usage and a batch's costs are priced by.
#include "commands.hpp"

namespace cli {

std::shared_ptr<chainpp::UsageCostHandler> usage_handler(const chainpp::App& app, chainpp::RunConfig& config) {
  if (auto own = app.usage_cost()) return own;
  // The configuration names no table: the pricing.yaml beside it, else the bundled one.
  chainpp::PricingTable pricing = chainpp::PricingTable::load_default(app.base_dir());
  auto handler = std::make_shared<chainpp::UsageCostHandler>(std::move(pricing));
  config.callbacks.push_back(handler);
  return handler;
}

}  // namespace cli
