// Provider `upper`: answers with the last message's text in upper case.
// Settings: `prefix:` (default ""). Built with -fno-gnu-unique (see CMakeLists.txt).
#include <chainpp/plugin.hpp>

#include <cctype>

namespace {

class UpperChatModel final : public chainpp::ChatModel {
public:
  explicit UpperChatModel(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string provider() const override { return "upper"; }

protected:
  std::shared_ptr<chainpp::ChatModel> clone() const override { return std::make_shared<UpperChatModel>(*this); }
  chainpp::AIMessage generate(const chainpp::Messages& messages, const chainpp::CallOptions&,
                              const chainpp::CallContext&) const override {
    std::string text = messages.empty() ? std::string() : messages.back().text();
    for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    chainpp::AIMessage m(prefix_ + text);
    m.response_metadata = chainpp::Json{{"model_name", "upper"}};
    return m;
  }

private:
  std::string prefix_;
};

std::shared_ptr<chainpp::ChatModel> make(const chainpp::ConfigNode& config, const chainpp::ProviderContext&) {
  config.check_keys({"provider", "prefix"});
  return std::make_shared<UpperChatModel>(config.get_string("prefix", ""));
}

chainpp::PluginDescriptor describe() { return {"test_upper", "1.2.3", CHAINPP_ABI_VERSION, {{"upper", &make}}}; }

}  // namespace

CHAINPP_PLUGIN(describe)
