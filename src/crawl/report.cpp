#include <weft/crawl/report.hpp>

#include <cereal/archives/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <system_error>

namespace weft::crawl {

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u]) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string summary_table(const crawl_result& r) {
    const crawl_counts& c = r.counts;
    std::string out;
    auto row = [&](std::string_view name, const std::string& value) { out += fmt::format("  {:<12} {}\n", name, value); };
    row("pages", fmt::format("{} parsed, {} failed, of {}", c.pages_done, c.pages_failed, c.pages_total));
    std::string images = fmt::format("{} saved", c.images_done);
    if (c.images_already > 0) images += fmt::format(" ({} already there)", c.images_already);
    images += fmt::format(", {} failed, {} skipped, of {}", c.images_failed, c.images_skipped, c.images_total);
    row("images", images);
    row("bytes", human_bytes(static_cast<double>(c.bytes)) + " downloaded");
    row("time", fmt::format("{:.2f} s", r.seconds));
    double rate = r.seconds > 0 ? static_cast<double>(c.bytes) / r.seconds : 0;
    std::size_t fetched = c.images_done - c.images_already;
    row("throughput", fmt::format("{}/s, {:.1f} images/s", human_bytes(rate), r.seconds > 0 ? static_cast<double>(fetched) / r.seconds : 0.0));
    row("retries", std::to_string(c.retries));
    if (!r.failures_by_reason.empty()) {
        std::string reasons;
        for (auto& [reason, n] : r.failures_by_reason) reasons += fmt::format("{}{} × {}", reasons.empty() ? "" : ", ", n, reason);
        row("not saved", reasons);
    }
    if (!r.fatal_error.empty()) row("stopped", r.fatal_error);
    if (r.interrupted) row("stopped", "interrupted; run the same command again to finish");
    return out;
}

void write_report(const crawl_result& r, const std::filesystem::path& file) {
    std::filesystem::path temporary = file;
    temporary += ".tmp";
    {
        std::ofstream out(temporary);
        if (!out) throw std::filesystem::filesystem_error("cannot write report", temporary, std::make_error_code(std::errc::permission_denied));
        cereal::JSONOutputArchive json(out, cereal::JSONOutputArchive::Options::Default());
        const crawl_counts& c = r.counts;
        json(cereal::make_nvp("exit_status", r.exit_status()), cereal::make_nvp("seconds", r.seconds),
             cereal::make_nvp("interrupted", r.interrupted), cereal::make_nvp("fatal_error", r.fatal_error));
        json.setNextName("totals");
        json.startNode();
        json(cereal::make_nvp("pages", c.pages_total), cereal::make_nvp("pages_parsed", c.pages_done),
             cereal::make_nvp("pages_failed", c.pages_failed), cereal::make_nvp("images", c.images_total),
             cereal::make_nvp("images_saved", c.images_done), cereal::make_nvp("images_already_there", c.images_already),
             cereal::make_nvp("images_failed", c.images_failed), cereal::make_nvp("images_skipped", c.images_skipped),
             cereal::make_nvp("bytes", c.bytes), cereal::make_nvp("retries", c.retries));
        json.finishNode();
        json.setNextName("not_saved_by_reason");
        json.startNode();
        for (auto& [reason, n] : r.failures_by_reason) json(cereal::make_nvp(reason.c_str(), n));
        json.finishNode();
        json.setNextName("urls");
        json.startNode();
        json.makeArray();
        for (const url_record& u : r.records) {
            json.startNode();
            json(cereal::make_nvp("url", u.url), cereal::make_nvp("kind", std::string(to_string(u.kind))),
                 cereal::make_nvp("outcome", std::string(to_string(u.state))), cereal::make_nvp("status", u.status),
                 cereal::make_nvp("bytes", u.bytes), cereal::make_nvp("attempts", u.attempts),
                 cereal::make_nvp("seconds", u.seconds), cereal::make_nvp("file", u.path),
                 cereal::make_nvp("referer", u.referer), cereal::make_nvp("reason", u.reason),
                 cereal::make_nvp("error", u.error), cereal::make_nvp("sha256", u.sha256));
            json.finishNode();
        }
        json.finishNode();
    }
    std::filesystem::rename(temporary, file);
}

}  // namespace weft::crawl
