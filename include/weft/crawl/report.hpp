#pragma once
/// \file
/// What a crawl tells its user at the end: the summary table and the `--report FILE.json`
/// document (one record per URL).
///
/// Example:
/// \code
///   auto result = co_await weft::crawl::crawl(options, {});
///   std::fputs(weft::crawl::summary_table(result).c_str(), stderr);
///   weft::crawl::write_report(result, "report.json");
/// \endcode
///
/// *Thread-safety:* plain functions over a finished result.

#include <weft/crawl/crawler.hpp>

#include <filesystem>
#include <string>

namespace weft::crawl {

/// The summary: pages, images (saved, already there, failed, skipped), bytes, time,
/// throughput, retries, and failures by reason, as an aligned text table.
/// Example: `std::fputs(weft::crawl::summary_table(result).c_str(), stderr);`
std::string summary_table(const crawl_result& result);

/// A byte count for people: "512 B", "1.5 KiB", "3.2 MiB".
/// Example: `weft::crawl::human_bytes(1536) == "1.5 KiB"`
std::string human_bytes(double bytes);

/// Writes the JSON report: totals, failures by reason, and for every URL its kind, outcome,
/// status, bytes, attempts, seconds, file, reason and error. Written to `file.tmp` then
/// renamed, so a reader never sees half a report.
/// *Throws:* `std::filesystem::filesystem_error` naming the file when it cannot be written.
/// Example: `weft::crawl::write_report(result, "crawl-report.json");`
void write_report(const crawl_result& result, const std::filesystem::path& file);

}  // namespace weft::crawl
