#pragma once
// Where the data files bundled with chainpp (pricing.yaml,
// model_profiles.yaml) are found with no setting: relative to
// libchainpp_core.so, as the plugins are, in the installed tree or the build
// tree, so a user's own configuration anywhere gets the bundled prices and
// model profiles.
#include <chainpp/export.hpp>

#include <string>

namespace chainpp {

/// The directory of the bundled data files: $CHAINPP_DATA_DIR when set (made
/// absolute), else <datadir>/chainpp of the installation this
/// libchainpp_core.so belongs to (found relative to the library, so a moved
/// install keeps working), else the build tree's <build>/share/chainpp.
/// "" when none of these exists.
CHAINPP_API std::string bundled_data_dir();

/// The absolute path of the bundled data file `name` ("pricing.yaml",
/// "model_profiles.yaml") in bundled_data_dir(), or "" when it is not there.
///
///     if (auto path = chainpp::bundled_data_file("pricing.yaml"); !path.empty()) ...
CHAINPP_API std::string bundled_data_file(const std::string& name);

}  // namespace chainpp
