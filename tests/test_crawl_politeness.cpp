// weft::crawl politeness: back-off, Retry-After, and the per-host pacer.
#include <weft/crawl/politeness.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using weft::crawl::backoff_delay;
using weft::crawl::host_pacer;
using weft::crawl::parse_retry_after;

TEST(CrawlBackoff, DoublesFromBaseWithinHalfToFull) {
    EXPECT_EQ(backoff_delay(500ms, 30s, 1, 0.0), 250ms);
    EXPECT_EQ(backoff_delay(500ms, 30s, 1, 1.0), 500ms);
    EXPECT_EQ(backoff_delay(500ms, 30s, 3, 1.0), 2000ms);
    EXPECT_EQ(backoff_delay(500ms, 30s, 3, 0.5), 1500ms);
}

TEST(CrawlBackoff, IsCappedEvenForHugeRetryCounts) {
    EXPECT_EQ(backoff_delay(500ms, 30s, 10, 1.0), 30s);
    EXPECT_EQ(backoff_delay(500ms, 30s, 1000, 0.0), 15s);
}

TEST(CrawlRetryAfter, ParsesSecondsAndDates) {
    auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
    EXPECT_EQ(parse_retry_after("5", now), 5s);
    EXPECT_EQ(parse_retry_after(" 120 ", now), 120s);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10s);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now), 0ms);  // in the past
    EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("", now), std::nullopt);
    EXPECT_EQ(parse_retry_after("99999999999999999999", now), 86'400s);  // capped at a day
}

TEST(CrawlPacer, WithoutDelayEveryRequestGoesAtOnce) {
    host_pacer pacer(0ms);
    host_pacer::time_point t0{};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(pacer.book(t0, 0.5), t0);
}

TEST(CrawlPacer, DelaySpacesRequestsWithJitter) {
    host_pacer pacer(100ms);
    host_pacer::time_point t0{};
    EXPECT_EQ(pacer.book(t0, 0.0), t0);         // the first goes at once
    EXPECT_EQ(pacer.book(t0, 1.0), t0 + 50ms);  // 0.5 x 100 ms after it
    EXPECT_EQ(pacer.book(t0, 0.0), t0 + 200ms); // 1.5 x 100 ms after that
}

TEST(CrawlPacer, ThrottlingSlowsDownAndRetryAfterHoldsTheHost) {
    host_pacer pacer(0ms);
    host_pacer::time_point t0{};
    pacer.throttled(t0, 2s);
    EXPECT_EQ(pacer.current_delay(), 250ms);
    EXPECT_EQ(pacer.book(t0, 0.5), t0 + 2s);  // nothing before Retry-After ends
    pacer.throttled(t0, std::nullopt);
    EXPECT_EQ(pacer.current_delay(), 500ms);
    for (int i = 0; i < 100; ++i) pacer.throttled(t0, std::nullopt);
    EXPECT_EQ(pacer.current_delay(), 60s);  // capped
}

TEST(CrawlPacer, SuccessesRelaxBackToTheConfiguredDelay) {
    host_pacer pacer(100ms);
    host_pacer::time_point t0{};
    pacer.throttled(t0, std::nullopt);
    EXPECT_EQ(pacer.current_delay(), 250ms);
    pacer.succeeded();
    EXPECT_LT(pacer.current_delay(), 250ms);
    for (int i = 0; i < 50; ++i) pacer.succeeded();
    EXPECT_EQ(pacer.current_delay(), 100ms);
}

TEST(CrawlPacer, RobotsCrawlDelayRaisesTheFloor) {
    host_pacer pacer(100ms);
    pacer.require_delay(2s);
    EXPECT_EQ(pacer.current_delay(), 2s);
    pacer.require_delay(1s);  // never lowers it
    EXPECT_EQ(pacer.current_delay(), 2s);
    pacer.throttled(host_pacer::time_point{}, std::nullopt);
    for (int i = 0; i < 50; ++i) pacer.succeeded();
    EXPECT_EQ(pacer.current_delay(), 2s);
}
