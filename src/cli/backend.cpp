#include "cli/backend.hpp"

namespace tb {
namespace {

std::string database_file(const std::filesystem::path& data_dir) {
  std::filesystem::create_directories(data_dir);
  return (data_dir / "tickets.db").string();
}

}  // namespace

local_service::local_service(const backend_config& c) : store({database_file(c.data_dir)}) {}

local_service::~local_service() {
  store.on_event_recorded(nullptr);
  store.handle_locally(nullptr);
}

std::unique_ptr<backend> make_backend(const backend_config& c) {
  return std::make_unique<local_service>(c);
}

}  // namespace tb
