#pragma once
// Test helper: captures what weft logs. The library logs through spdlog::get("weft") if a
// logger of that name exists when it first logs, so a test program registers its own logger
// under that name (at static initialisation, before anything can log) and reads it back.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace weft_test {

class capture_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    std::vector<std::string> lines() {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    void clear() {
        std::lock_guard lock(mutex_);
        lines_.clear();
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        lines_.emplace_back(msg.payload.data(), msg.payload.size());
    }
    void flush_() override {}

private:
    std::vector<std::string> lines_;
};

/// The sink behind the "weft" logger of this test program.
inline capture_sink& weft_log() {
    static std::shared_ptr<capture_sink> sink = [] {
        auto s = std::make_shared<capture_sink>();
        auto logger = std::make_shared<spdlog::logger>("weft", s);
        logger->set_level(spdlog::level::trace);
        spdlog::register_logger(logger);
        return s;
    }();
    return *sink;
}

/// How many captured lines contain `needle`.
inline std::size_t count_logged(const std::string& needle) {
    auto lines = weft_log().lines();
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find(needle) != std::string::npos;
    }));
}

// Registers the logger before main() runs.
inline const bool registered = (weft_log(), true);

}  // namespace weft_test
