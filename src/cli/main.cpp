// The ticket-booking command line: serve, invoke, lambda, events. Configuration is read here, once.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/functions.hpp"
#include "log/log.hpp"
#include "cli/backend.hpp"
#include "http/server.hpp"
#include "lambda/runtime.hpp"
#include "sqlite/event_counts.hpp"
#include "sqlite/sqlite_store.hpp"
#include "web/pages.hpp"

namespace {

using namespace tb;

constexpr const char* usage = R"(usage:
  ticket-booking serve [--host 127.0.0.1] [--port 8080] [--data-dir ./data] [--threads N]
                       [--api-keys-file FILE] [--allow-anonymous-writes] [--metrics-public]
                       [--allowed-host NAME]... [--log-requests=false] [--max-connections N]
  ticket-booking invoke FUNCTION (--data JSON | --path FILE) [--data-dir ./data]
  ticket-booking lambda [--data-dir ./data]   (AWS_LAMBDA_RUNTIME_API and _HANDLER as Lambda sets them)
  ticket-booking events [--follow] [--after SEQ] [--data-dir ./data]

With DYNAMODB_TABLE set, invoke and lambda run on DynamoDB and SNS instead of --data-dir
(PRICE_CHANGE_TOPIC_ARN, AWS_REGION, AWS_ENDPOINT_URL, ...: see the README's "On AWS").

FUNCTION: retrieveMovies retrieveTicket retrieveAllTickets createTicket updateTicket
          removeTicket priceChangeEventHandler publishPriceChangeEvents
)";

struct config {
  std::string command;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::filesystem::path data_dir = "./data";
  std::string function;
  std::optional<std::string> data;
  std::optional<std::string> data_path;
  unsigned threads = 0;  // HTTP threads; 0: one per core
  // serve's front door: see http::server_options.
  std::optional<std::filesystem::path> api_keys_file;
  bool allow_anonymous_writes = false;
  bool metrics_public = false;
  std::vector<std::string> allowed_hosts;
  bool log_requests = true;
  std::size_t max_connections = http::server_limits{}.max_connections;
  bool follow = false;
  std::int64_t after = 0;
  // lambda: the Runtime API's address, and _HANDLER (the function's name, or file.name).
  lambda::runtime_address runtime_api;
  std::string handler;
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

config parse_args(int argc, char** argv) {
  config c;
  if (argc < 2) throw usage_error("missing command");
  c.command = argv[1];
  if (c.command == "--help" || c.command == "-h" || c.command == "help") return c;
  int i = 2;
  if (c.command == "invoke") {
    if (argc < 3 || argv[2][0] == '-') throw usage_error("invoke needs a FUNCTION name");
    c.function = argv[i++];
  }
  auto value = [&](const std::string& flag) -> std::string {
    if (i + 1 >= argc) throw usage_error(flag + " needs a value");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--host") c.host = value(flag);
    else if (flag == "--port") {
      std::string v = value(flag);
      char* end = nullptr;
      long port = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || port < 0 || port > 65535) throw usage_error("--port takes 0 to 65535");
      c.port = static_cast<std::uint16_t>(port);
    } else if (flag == "--threads") {
      std::string v = value(flag);
      char* end = nullptr;
      long threads = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || threads < 1 || threads > 256) throw usage_error("--threads takes 1 to 256");
      c.threads = static_cast<unsigned>(threads);
    } else if (flag == "--max-connections") {
      std::string v = value(flag);
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > 1'000'000) throw usage_error("--max-connections takes 1 to 1000000");
      c.max_connections = static_cast<std::size_t>(n);
    } else if (flag == "--api-keys-file") c.api_keys_file = value(flag);
    else if (flag == "--allow-anonymous-writes") c.allow_anonymous_writes = true;
    else if (flag == "--metrics-public") c.metrics_public = true;
    else if (flag == "--allowed-host") c.allowed_hosts.push_back(value(flag));
    else if (flag == "--log-requests=false" || flag == "--log-requests=true") c.log_requests = flag.ends_with("true");
    else if (flag == "--data-dir") c.data_dir = value(flag);
    else if (flag == "--data") c.data = value(flag);
    else if (flag == "--path") c.data_path = value(flag);
    else if (flag == "--follow") c.follow = true;
    else if (flag == "--after") {
      std::string v = value(flag);
      char* end = nullptr;
      long long after = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || after < 0) throw usage_error("--after takes a sequence number");
      c.after = after;
    } else throw usage_error("unknown option " + flag);
  }
  if (c.command == "invoke" && !c.data == !c.data_path) throw usage_error("invoke takes one of --data or --path");
  // Before anything opens the store: a mistyped name must not create a data dir.
  if (c.command == "invoke" && !is_function(c.function)) throw usage_error("unknown function " + c.function);
  if (c.command == "lambda") {
    // Lambda sets both; without the first there is nobody to report anything to.
    const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api)
      throw usage_error("lambda needs AWS_LAMBDA_RUNTIME_API (host:port), as Lambda sets it");
    auto address = lambda::parse_address(api);
    if (!address) throw usage_error("AWS_LAMBDA_RUNTIME_API: " + address.err().message);
    c.runtime_api = std::move(*address);
    const char* handler = std::getenv("_HANDLER");
    c.handler = handler ? handler : "";
  }
  return c;
}

// The AWS settings come from the environment, as in the original service and the AWS SDKs; with a
// DynamoDB table named there, invoke and lambda run on DynamoDB and SNS instead of the data dir.
backend_config backend_config_of(const config& c) {
  backend_config b{c.data_dir, std::nullopt};
  // Without a table the AWS settings are not this run's: a stray AWS_REGION must not stop it.
  const aws::env_lookup env = [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  if (!env("DYNAMODB_TABLE")) return b;
  auto settings = aws::read_settings(env);
  if (!settings) throw usage_error(settings.err().message);
  b.aws = std::move(*settings);
  return b;
}

int serve(const config& c) {
  http::server_options opts;
  if (c.api_keys_file) {  // before the store opens: a bad key file must not create a data dir
    auto keys = http::api_keys::load(*c.api_keys_file);
    if (!keys) throw usage_error("--api-keys-file: " + keys.err().message);
    opts.keys = std::move(*keys);
  }
  local_service service(backend_config{c.data_dir, std::nullopt, true});
  // Price changes made here are handled in their own write; the bus delivers the rest (events
  // of other processes and earlier runs).
  service.store.on_event_recorded([&service] { service.bus.wake(); });
  service.bus.start();
  opts.host = c.host;
  opts.port = c.port;
  opts.threads = c.threads;
  opts.pages = web::page;
  opts.limits.max_connections = c.max_connections;
  opts.allow_anonymous_writes = c.allow_anonymous_writes;
  opts.metrics_public = c.metrics_public;
  opts.allowed_hosts = c.allowed_hosts;
  opts.log_requests = c.log_requests;
  auto counts = std::make_shared<sqlite::event_counts>(database_file(c.data_dir).string());
  opts.event_counts = [counts] { return (*counts)(); };
  http::serve(service.routes(), opts, [&](std::uint16_t port) {
    // An IPv6 literal goes in brackets, as in a URL.
    const std::string host = c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host;
    log_fields fields{{"dataDir", c.data_dir.string()}};
    if (opts.keys) fields.emplace_back("apiKeys", std::to_string(opts.keys->size()));  // how many, never which
    log_line("info", "listening on http://" + host + ":" + std::to_string(port), fields);
  });
  log_line("info", "stopped");
  return 0;
}

std::string read_input(const config& c) {
  if (c.data) return *c.data;
  std::ifstream in(*c.data_path, std::ios::binary);
  if (!in) throw usage_error("cannot read " + *c.data_path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int invoke(const config& c) {
  auto parsed = json::parse(read_input(c));
  auto* event = std::get_if<json::value>(&parsed);
  if (!event) throw usage_error("the event is not valid JSON");
  // Checked before the store opens: an event of the wrong shape must not create a data dir.
  if (c.function == price_change_function) {
    if (auto messages = sns_messages(*event); !messages) throw usage_error(messages.err().message);
  }
  auto service = make_backend(backend_config_of(c));
  auto run = run_function(c.function, *event, service->routes(), service->events(),
                          [&](const json::value& e) { return service->relay(e); });
  if (!run) throw usage_error(run.err().message);
  std::cout << json::serialize(run->output) << "\n";
  service->deliver_recorded();
  return run->rejected + run->failed == 0 ? 0 : 1;
}

// The name in _HANDLER: Lambda's usual "file.function" form names the function after the last dot.
std::string function_of_handler(const std::string& handler) {
  const auto dot = handler.rfind('.');
  return dot == std::string::npos ? handler : handler.substr(dot + 1);
}

int run_lambda(const config& c) {
  const std::string name = function_of_handler(c.handler);
  auto init_failed = [&](std::string type, std::string message) {
    log_line("error", "initialization failed", {{"handler", c.handler}, {"reason", message}});
    auto reported = lambda::report_init_error(c.runtime_api, {std::move(type), std::move(message)});
    if (!reported)
      log_line("error", "the init error was not reported", {{"reason", reported.err().message}});
    return 1;
  };
  if (!is_function(name))
    return init_failed("Runtime.HandlerNotFound", "_HANDLER '" + c.handler + "' names none of the functions");
  std::unique_ptr<backend> service;
  try {
    auto config = backend_config_of(c);
    config.owns_data = true;  // a long-lived loop, alone with its data: it checkpoints, as serve does
    service = make_backend(config);
  } catch (const std::exception& e) {
    return init_failed("Runtime.InitError", e.what());
  }
  log_line("info", "serving invocations", {{"function", name}});
  const error stopped = lambda::run_handler(c.runtime_api, [&](const lambda::invocation& inv) {
    auto parsed = json::parse(inv.payload);
    auto* event = std::get_if<json::value>(&parsed);
    if (!event) return lambda::outcome::failure("Function.InvalidEvent", "the event is not valid JSON");
    service->set_deadline(inv.deadline);
    auto run = run_function(name, *event, service->routes(), service->events(),
                            [&](const json::value& e) { return service->relay(e); });
    service->deliver_recorded();
    if (!run) return lambda::outcome::failure("Function.InvalidEvent", run.err().message);
    // The relay reports its unpublished records in its answer, for Lambda to retry from them.
    if (name == relay_function) return lambda::outcome::success(json::serialize(run->output));
    // Malformed messages are dropped (the handler logged why; a retry cannot fix them); any
    // other failure fails the invocation so that Lambda and SNS deliver it again.
    if (run->failed) return lambda::outcome::failure("Function.EventNotHandled", run->failure);
    return lambda::outcome::success(json::serialize(run->output));
  });
  log_line("error", "the Runtime API went away", {{"reason", stopped.message}});
  return 1;
}

int events(const config& c) {
  const auto file = database_file(c.data_dir);
  if (!std::filesystem::exists(file)) throw usage_error("no data under " + c.data_dir.string());
  sqlite::sqlite_store store({.path = file.string(), .checkpoints = false});
  std::int64_t after = c.after;
  for (;;) {
    auto page = store.events_after(after, 1000);
    if (!page) throw std::runtime_error(page.err().message);
    for (const auto& e : *page) {
      std::string line;
      append_logged_event(line, e);
      std::cout << line << "\n";
      after = e.seq;
    }
    std::cout.flush();
    if (page->size() == 1000) continue;
    if (!c.follow) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    config c = parse_args(argc, argv);
    if (c.command == "serve") return serve(c);
    if (c.command == "invoke") return invoke(c);
    if (c.command == "events") return events(c);
    if (c.command == "lambda") return run_lambda(c);
    if (c.command == "--help" || c.command == "-h" || c.command == "help") {
      std::cout << usage;
      return 0;
    }
    throw usage_error("unknown command " + c.command);
  } catch (const usage_error& e) {
    std::cerr << "ticket-booking: " << e.what() << "\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    log_line("error", "fatal", {{"reason", e.what()}});
    return 1;
  }
}
