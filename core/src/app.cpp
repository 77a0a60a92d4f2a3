#include <chainpp/app.hpp>

#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/tracer.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>

namespace chainpp {

namespace fs = std::filesystem;

namespace {

template <class T>
std::vector<std::string> names_of(const std::vector<std::pair<std::string, T>>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.first);
  return out;
}

template <class T>
const T* find_named(const std::vector<std::pair<std::string, T>>& items, const std::string& name) {
  for (const auto& item : items)
    if (item.first == name) return &item.second;
  return nullptr;
}

// "unknown model 'x' (did you mean 'y'?)" or "unknown model 'x' (available models: a, b)".
std::string unknown(const std::string& what, const std::string& name, const std::vector<std::string>& known) {
  std::string message = "unknown " + what + " '" + name + "'";
  std::string suggestion = closest_match(name, known);
  if (!suggestion.empty()) return message + " (did you mean '" + suggestion + "'?)";
  std::vector<std::string> sorted = known;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty()) return message + " (no " + what + "s are defined)";
  return message + " (available " + what + "s: " + join(sorted) + ")";
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(base_dir) / p;
  return p.lexically_normal().string();
}

const ConfigNode* section(const ConfigNode& root, const char* key, ConfigNode::Kind kind, const char* what) {
  const ConfigNode* node = root.find(key);
  if (!node || node->is_null()) return nullptr;
  if (node->kind() != kind) node->fail(std::string(key) + " must be " + what);
  return node;
}

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 3 && s.compare(s.size() - 3, 3, ".so") == 0);
}

}  // namespace

struct detail::AppState {
  ConfigNode root;
  std::string base_dir;
  std::shared_ptr<PluginRegistry> registry;
  std::vector<std::pair<std::string, ChatModelPtr>> models;
  std::vector<std::pair<std::string, std::shared_ptr<ChatPromptTemplate>>> prompts;
  std::vector<std::pair<std::string, RunnablePtr>> pipelines;
  std::vector<std::pair<std::string, std::vector<std::string>>> pipeline_inputs;
  std::vector<std::pair<std::string, std::vector<RunnablePtr>>> pipeline_steps;
  Callbacks callbacks;
  std::shared_ptr<UsageCostHandler> usage;
  /// The configuration errors found while loading, each "file:line:col: ...";
  /// from_config throws them all at once.
  std::vector<std::string> errors;
  /// "model NAME" and "prompt NAME" of the entries that failed: a pipeline
  /// naming one is not reported again.
  std::set<std::string> failed;
};

namespace {

/// Runs `load` (one entry of a section), adding a ConfigError it throws to
/// st.errors (and `failed`, when given, to st.failed); whether it succeeded.
template <class Load>
bool collect(detail::AppState& st, Load&& load, const std::string& failed = "") {
  try {
    load();
    return true;
  } catch (const ConfigError& e) {
    st.errors.emplace_back(e.what());
    if (!failed.empty()) st.failed.insert(failed);
    return false;
  }
}

/// The line and column an error message of `file` starts with ("file:12:5: ..."),
/// or none (sorted last).
std::pair<long, long> error_position(const std::string& message, const std::string& file) {
  constexpr long none = std::numeric_limits<long>::max();
  if (message.compare(0, file.size() + 1, file + ":") != 0) return {none, none};
  char* end = nullptr;
  const char* start = message.c_str() + file.size() + 1;
  const long line = std::strtol(start, &end, 10);
  if (end == start || *end != ':') return {none, none};
  const char* col_start = end + 1;
  const long col = std::strtol(col_start, &end, 10);
  return {line, end == col_start ? 0 : col};
}

}  // namespace

std::vector<std::string> plugin_search_dirs(const ConfigNode& root, const std::string& base_dir,
                                            const std::vector<std::string>& extra, bool use_defaults) {
  std::vector<std::string> dirs;
  auto add = [&dirs](const std::string& dir) {
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  };
  if (const ConfigNode* plugins = section(root, "plugins", ConfigNode::Kind::map, "a map")) {
    if (const ConfigNode* paths = plugins->find("paths"); paths && !paths->is_null()) {
      if (!paths->is_list()) paths->fail("plugins.paths must be a list of directories");
      for (const auto& p : paths->items()) add(resolve(base_dir, p.as_string()));
    }
  }
  for (const auto& dir : extra) add(resolve(base_dir, dir));
  if (use_defaults) {
    for (const auto& dir : environment_plugin_dirs()) add(dir);
    if (std::string d = default_plugin_dir(); !d.empty()) add(d);
  }
  return dirs;
}

std::vector<std::string> plugin_load_paths(const ConfigNode& root, const std::string& base_dir) {
  std::vector<std::string> out;
  const ConfigNode* plugins = section(root, "plugins", ConfigNode::Kind::map, "a map");
  const ConfigNode* load = plugins ? plugins->find("load") : nullptr;
  if (!load || !load->is_list()) return out;
  for (const auto& item : load->items())
    if (looks_like_path(item.as_string())) out.push_back(resolve(base_dir, item.as_string()));
  return out;
}

namespace {

void load_plugins(detail::AppState& st, const std::vector<std::string>& dirs) {
  const ConfigNode* plugins = section(st.root, "plugins", ConfigNode::Kind::map, "a map");
  if (plugins) {
    plugins->check_keys({"paths", "load", "allow_writable", "sha256"});
    PluginTrust trust;
    trust.allow_writable = plugins->get_bool("allow_writable", false);
    if (const ConfigNode* pins = plugins->find("sha256")) {
      if (!pins->is_map()) pins->fail("plugins.sha256 must be a map of plugin names to SHA-256 digests");
      for (const auto& [name, digest] : pins->entries()) {
        const std::string& hex = digest.as_string();
        if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
          digest.fail("plugins.sha256." + name + " must be 64 hexadecimal digits");
        trust.sha256[name] = hex;
      }
    }
    st.registry->set_trust(std::move(trust));
  }
  const ConfigNode* load = plugins ? plugins->find("load") : nullptr;
  if (load && !load->is_null()) {
    if (!load->is_list()) load->fail("plugins.load must be a list of plugin names or paths");
    for (const auto& item : load->items()) {
      const std::string& what = item.as_string();
      try {
        if (looks_like_path(what))
          st.registry->load_file(what, st.base_dir);
        else
          st.registry->load(what, dirs);
      } catch (const PluginError& e) {
        throw PluginError(located(item.location(), e.what()));
      }
    }
    return;
  }
  // No `load:` list: for each provider a model names, load libchainpp_<provider>.so
  // when present, else every plugin found.
  const ConfigNode* models = section(st.root, "models", ConfigNode::Kind::map, "a map");
  if (!models) return;
  bool loaded_all = false;
  for (const auto& [name, model] : models->entries()) {
    const ConfigNode* provider = model.is_map() ? model.find("provider") : nullptr;
    if (!provider || !provider->is_scalar()) continue;  // reported when creating the model
    const std::string& p = provider->as_string();
    if (st.registry->has_provider(p)) continue;
    try {
      for (const auto& dir : dirs) {
        fs::path candidate = fs::path(dir) / plugin_file_name(p);
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) {
          st.registry->load_file(candidate.string());
          break;
        }
      }
      if (!st.registry->has_provider(p) && !loaded_all) {
        for (const auto& file : find_plugin_files(dirs)) st.registry->load_file(file);
        loaded_all = true;
      }
    } catch (const PluginError& e) {
      throw PluginError(located(provider->location(), e.what()));
    }
  }
}

void create_models(detail::AppState& st, const AppOptions& options) {
  const ConfigNode* models = section(st.root, "models", ConfigNode::Kind::map, "a map");
  if (!models) return;
  for (const auto& [name, model] : models->entries()) collect(st, [&, &name = name, &model = model] {
    if (!model.is_map()) model.fail("models." + name + " must be a map with a provider");
    const ConfigNode& provider = model.at("provider");
    const std::string& p = provider.as_string();
    if (!st.registry->has_provider(p)) {
      std::vector<std::string> available = st.registry->providers();
      provider.fail("unknown provider '" + p + "'; available providers: " +
                    (available.empty() ? std::string("(none loaded)") : join(available)));
    }
    ProviderContext ctx;
    ctx.model_name = name;
    ctx.config_dir = st.base_dir;
    ctx.azure_ad_token_provider = options.azure_ad_token_provider;
    ctx.token_credential = options.token_credential;
    std::shared_ptr<ChatModel> created;
    try {
      created = st.registry->create(p, model, ctx);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      model.fail("model '" + name + "': " + e.what());
    }
    st.models.emplace_back(name, std::move(created));
  }, "model " + name);
}

void compile_prompts(detail::AppState& st) {
  const ConfigNode* prompts = section(st.root, "prompts", ConfigNode::Kind::map, "a map");
  if (!prompts) return;
  for (const auto& [name, prompt] : prompts->entries()) collect(st, [&, &name = name, &prompt = prompt] {
    if (!prompt.is_map()) prompt.fail("prompts." + name + " must be a map with messages");
    prompt.check_keys({"messages", "template"});
    std::vector<MessageLike> messages;
    if (const ConfigNode* text = prompt.find("template")) {
      if (prompt.contains("messages")) text->fail("prompts." + name + " has both template and messages");
      try {
        messages.emplace_back(std::string_view("human"), text->as_string());
      } catch (const PromptError& e) {
        text->fail(e.what());
      }
    } else {
      const ConfigNode& list = prompt.at("messages");
      if (!list.is_list() || list.size() == 0)
        list.fail(list.path() + " must be a non-empty list of [role, template] pairs");
      for (const auto& pair : list.items()) {
        if (!pair.is_list() || pair.size() != 2) pair.fail(pair.path() + " must be a [role, template] pair");
        const ConfigNode& role = pair.items()[0];
        const ConfigNode& text = pair.items()[1];
        try {
          PromptTemplate check(text.as_string());
        } catch (const PromptError& e) {
          text.fail(e.what());
        }
        try {
          messages.emplace_back(std::string_view(role.as_string()), text.as_string());
        } catch (const PromptError& e) {
          role.fail(e.what());
        }
      }
    }
    try {
      st.prompts.emplace_back(name, ChatPromptTemplate::from_messages(std::move(messages)));
    } catch (const PromptError& e) {
      prompt.fail(e.what());
    }
  }, "prompt " + name);
}

void build_pipelines(detail::AppState& st) {
  const ConfigNode* pipelines = section(st.root, "pipelines", ConfigNode::Kind::map, "a map");
  if (!pipelines) return;
  RunConfig with;
  with.callbacks = st.callbacks;
  for (const auto& [name, pipeline] : pipelines->entries()) collect(st, [&, &name = name, &pipeline = pipeline] {
    if (!pipeline.is_map()) pipeline.fail("pipelines." + name + " must be a map with steps");
    pipeline.check_keys({"steps"});
    const ConfigNode& steps = pipeline.at("steps");
    if (!steps.is_list() || steps.size() == 0) steps.fail(steps.path() + " must be a non-empty list of steps");
    std::vector<RunnablePtr> runnables;
    std::vector<std::string> inputs;
    for (const auto& step : steps.items()) {
      if (!step.is_map() || step.size() != 1)
        step.fail(step.path() + " must be one of {prompt: NAME}, {model: NAME}, {parser: str|json}");
      step.check_keys({"prompt", "model", "parser"});
      const auto [kind, value] = step.entries().front();
      const std::string& ref = value.as_string();
      if (kind == "prompt") {
        const auto* p = find_named(st.prompts, ref);
        if (!p && st.failed.count("prompt " + ref)) return;  // reported with the prompt
        if (!p) value.fail(unknown("prompt", ref, names_of(st.prompts)));
        if (runnables.empty()) inputs = (*p)->input_variables();
        runnables.push_back(*p);
      } else if (kind == "model") {
        const auto* m = find_named(st.models, ref);
        if (!m && st.failed.count("model " + ref)) return;  // reported with the model
        if (!m) value.fail(unknown("model", ref, names_of(st.models)));
        runnables.push_back(*m);
      } else {
        if (ref == "str")
          runnables.push_back(std::make_shared<StrOutputParser>());
        else if (ref == "json")
          runnables.push_back(std::make_shared<JsonOutputParser>());
        else
          value.fail(unknown("parser", ref, {"str", "json"}));
      }
    }
    // Always a sequence: it holds the steps themselves (a plugin model's pointer
    // keeps its library loaded), never a pointer re-derived from the object.
    st.pipeline_steps.emplace_back(name, runnables);
    RunnablePtr chain = make_sequence(std::move(runnables));
    RunConfig named = with;
    named.run_name = name;
    st.pipelines.emplace_back(name, chain->with_config(std::move(named)));
    st.pipeline_inputs.emplace_back(name, std::move(inputs));
  });
}

void make_callbacks(detail::AppState& st) {
  const ConfigNode* callbacks = section(st.root, "callbacks", ConfigNode::Kind::list, "a list");
  if (!callbacks) return;
  for (const auto& cb : callbacks->items()) collect(st, [&, &cb = cb] {
    if (!cb.is_map()) cb.fail(cb.path() + " must be a map with a type");
    const ConfigNode& type = cb.at("type");
    const std::string& t = type.as_string();
    if (t == "usage_cost") {
      cb.check_keys({"type", "pricing"});
      PricingTable pricing;
      if (const ConfigNode* file = cb.find("pricing")) {
        std::string path = resolve(st.base_dir, file->as_string());
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) file->fail("pricing file not found: " + path);
        pricing = PricingTable::load(path);
      } else {
        pricing = PricingTable::load_default(st.base_dir);
      }
      auto handler = std::make_shared<UsageCostHandler>(std::move(pricing));
      if (!st.usage) st.usage = handler;
      st.callbacks.push_back(std::move(handler));
    } else if (t == "trace") {
      cb.check_keys({"type", "path"});
      const ConfigNode& path = cb.at("path");
      try {
        st.callbacks.push_back(std::make_shared<TraceHandler>(resolve(st.base_dir, path.as_string())));
      } catch (const ConfigError& e) {
        path.fail(e.what());
      }
    } else {
      type.fail(unknown("callback type", t, {"usage_cost", "trace"}));
    }
  });
}

// Where a name asked for by the host is reported: the configuration file.
SourceLocation config_file(const detail::AppState& st) { return SourceLocation{st.root.location().file, 0, 0}; }

}  // namespace

App::App(std::shared_ptr<const detail::AppState> state) : state_(std::move(state)) {}

App App::load(const std::string& path, AppOptions options) {
  ConfigNode root = ConfigNode::load_file(path);
  std::string base_dir = fs::absolute(fs::path(path)).parent_path().lexically_normal().string();
  return from_config(root, base_dir, std::move(options));
}

App App::from_config(const ConfigNode& root, const std::string& base_dir, AppOptions options) {
  auto st = std::make_shared<detail::AppState>();
  st->root = root;
  st->base_dir = fs::absolute(fs::path(base_dir)).lexically_normal().string();
  st->registry = options.registry ? options.registry : std::make_shared<PluginRegistry>();
  if (!root.is_map()) {
    if (root.is_null()) root.fail("the configuration is empty");
    root.fail("the configuration must be a map of sections");
  }
  collect(*st, [&] { root.check_keys({"plugins", "models", "prompts", "pipelines", "callbacks"}); });
  std::vector<std::string> dirs =
      plugin_search_dirs(root, st->base_dir, options.plugin_dirs, options.use_default_plugin_dirs);
  load_plugins(*st, dirs);
  // Every section is loaded, each entry on its own: the errors of all of them
  // are reported at once, in file order.
  collect(*st, [&] { create_models(*st, options); });
  collect(*st, [&] { compile_prompts(*st); });
  collect(*st, [&] { make_callbacks(*st); });
  collect(*st, [&] { build_pipelines(*st); });
  if (!st->errors.empty()) {
    const std::string& file = root.location().file;
    std::stable_sort(st->errors.begin(), st->errors.end(), [&file](const std::string& a, const std::string& b) {
      return error_position(a, file) < error_position(b, file);
    });
    throw ConfigError(join(st->errors, "\n"));
  }
  return App(std::move(st));
}

ChatModelPtr App::model(const std::string& name) const {
  if (const auto* m = find_named(state_->models, name)) return *m;
  throw ConfigError(located(config_file(*state_), unknown("model", name, model_names())));
}

RunnablePtr App::pipeline(const std::string& name) const {
  if (const auto* p = find_named(state_->pipelines, name)) return *p;
  throw ConfigError(located(config_file(*state_), unknown("pipeline", name, pipeline_names())));
}

std::vector<RunnablePtr> App::pipeline_steps(const std::string& name) const {
  if (const auto* p = find_named(state_->pipeline_steps, name)) return *p;
  throw ConfigError(located(config_file(*state_), unknown("pipeline", name, pipeline_names())));
}

RunnablePtr App::prompt(const std::string& name) const {
  if (const auto* p = find_named(state_->prompts, name)) return *p;
  throw ConfigError(located(config_file(*state_), unknown("prompt", name, prompt_names())));
}

std::vector<std::string> App::model_names() const { return names_of(state_->models); }
std::vector<std::string> App::pipeline_names() const { return names_of(state_->pipelines); }
std::vector<std::string> App::prompt_names() const { return names_of(state_->prompts); }

std::vector<std::string> App::pipeline_inputs(const std::string& name) const {
  if (const auto* p = find_named(state_->pipeline_inputs, name)) return *p;
  throw ConfigError(located(config_file(*state_), unknown("pipeline", name, pipeline_names())));
}

const Callbacks& App::callbacks() const { return state_->callbacks; }
std::shared_ptr<UsageCostHandler> App::usage_cost() const { return state_->usage; }

RunConfig App::run_config() const {
  RunConfig config;
  config.callbacks = state_->callbacks;
  return config;
}

const PluginRegistry& App::registry() const { return *state_->registry; }
const ConfigNode& App::config() const { return state_->root; }
const std::string& App::base_dir() const { return state_->base_dir; }

App load_app(const std::string& path, AppOptions options) { return App::load(path, std::move(options)); }

ChatModelPtr make_model(const Json& settings, AppOptions options) {
  const ConfigNode root = ConfigNode::from_json(Json{{"models", Json{{"model", settings}}}}, "<make_model>");
  return App::from_config(root, fs::current_path().string(), std::move(options)).model("model");
}

}  // namespace chainpp
