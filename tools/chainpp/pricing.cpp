// usage_handler (see commands.hpp): what --usage and a batch's costs are priced by.
#include "commands.hpp"

#include <filesystem>

namespace cli {

namespace fs = std::filesystem;

std::shared_ptr<chainpp::UsageCostHandler> usage_handler(const chainpp::App& app, chainpp::RunConfig& config) {
  if (auto own = app.usage_cost()) return own;
  chainpp::PricingTable pricing;
  fs::path path = fs::path(app.base_dir()) / "pricing.yaml";
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) pricing = chainpp::PricingTable::load(path.string());
  auto handler = std::make_shared<chainpp::UsageCostHandler>(std::move(pricing));
  config.callbacks.push_back(handler);
  return handler;
}

}  // namespace cli
