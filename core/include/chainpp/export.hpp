#pragma once
// CHAINPP_API marks the symbols the core library exports. Everything else in
// libchainpp_core.so is hidden, so the exported surface is the public API.
#define CHAINPP_API __attribute__((visibility("default")))
