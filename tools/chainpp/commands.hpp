#pragma once
// The commands of the chainpp CLI, each in the file of its name, and what
// several of them share. main.cpp dispatches to them; options.hpp parses
// their flags.
#include "options.hpp"

#include <chainpp/app.hpp>
#include <chainpp/usage_cost.hpp>

#include <memory>

namespace cli {

/// chainpp run: runs a pipeline and prints its output (run.cpp).
extern const Command run;
/// chainpp chat: talks to a model, one message or a conversation (chat.cpp).
extern const Command chat;

/// A UsageCostHandler for --usage: the configuration's own, or one priced by
/// pricing.yaml beside the configuration file (unpriced when there is none),
/// added to `config` (pricing.cpp).
std::shared_ptr<chainpp::UsageCostHandler> usage_handler(const chainpp::App& app, chainpp::RunConfig& config);

}  // namespace cli
