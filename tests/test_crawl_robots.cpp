// robots.txt rules (RFC 9309): groups, longest match, Allow ties, wildcards, '$', percent-encoding,
// Crawl-delay, and files that are empty, garbled or too long.
#include <weft/crawl/robots.hpp>

#include <gtest/gtest.h>

#include <string>

using weft::crawl::robots_rules;
using namespace std::chrono_literals;

namespace {

// The example file of RFC 9309 §5.1.
constexpr const char* rfc_example = R"(User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
)";

}  // namespace

TEST(CrawlRobots, RfcExampleStarGroup) {
    auto rules = robots_rules::parse(rfc_example, "weft");
    EXPECT_FALSE(rules.allowed("/picture.gif"));
    EXPECT_TRUE(rules.allowed("/picture.gif?x=1"));  // '$': .gif must end the path
    EXPECT_FALSE(rules.allowed("/example/"));
    EXPECT_FALSE(rules.allowed("/example/page.html"));
    EXPECT_TRUE(rules.allowed("/publications/"));
    EXPECT_TRUE(rules.allowed("/"));
    EXPECT_TRUE(rules.allowed("/other"));
}

TEST(CrawlRobots, RfcExampleSpecificGroups) {
    auto foo = robots_rules::parse(rfc_example, "foobot");
    EXPECT_TRUE(foo.allowed("/example/page.html"));    // longer Allow beats "Disallow: /"
    EXPECT_TRUE(foo.allowed("/example/allowed.gif"));
    EXPECT_FALSE(foo.allowed("/example/other.html"));
    EXPECT_FALSE(foo.allowed("/publications/"));       // the '*' group does not apply to foobot

    for (const char* agent : {"barbot", "bazbot"}) {
        auto bar = robots_rules::parse(rfc_example, agent);
        EXPECT_FALSE(bar.allowed("/example/page.html")) << agent;
        EXPECT_TRUE(bar.allowed("/example/other.html")) << agent;
        EXPECT_TRUE(bar.allowed("/x.gif")) << agent;
    }

    auto qux = robots_rules::parse(rfc_example, "quxbot");  // a group without rules: everything allowed
    EXPECT_TRUE(qux.allowed("/x.gif"));
    EXPECT_TRUE(qux.allowed("/example/"));
}

TEST(CrawlRobots, LongestMatchWins) {
    auto rules = robots_rules::parse("User-agent: *\n"
                                     "Allow: /example/page/\n"
                                     "Disallow: /example/page/disallowed.gif\n"
                                     "Disallow: /example/\n",
                                     "weft");
    EXPECT_TRUE(rules.allowed("/example/page/"));
    EXPECT_TRUE(rules.allowed("/example/page/allowed.gif"));
    EXPECT_FALSE(rules.allowed("/example/page/disallowed.gif"));
    EXPECT_FALSE(rules.allowed("/example/other"));
    EXPECT_TRUE(rules.allowed("/examples"));  // "/example/" is not a prefix of it
}

TEST(CrawlRobots, AllowWinsATie) {
    auto rules = robots_rules::parse("User-agent: *\nDisallow: /page\nAllow: /page\n", "weft");
    EXPECT_TRUE(rules.allowed("/page"));
    EXPECT_TRUE(rules.allowed("/page/x"));
    auto wild = robots_rules::parse("User-agent: *\nDisallow: /*.htm\nAllow: /p*htm\n", "weft");  // 6 octets each
    EXPECT_TRUE(wild.allowed("/page.htm"));
    EXPECT_FALSE(wild.allowed("/index.htm"));
}

TEST(CrawlRobots, Wildcards) {
    auto fish = robots_rules::parse("User-agent: *\nDisallow: /fish*\n", "weft");
    EXPECT_FALSE(fish.allowed("/fish"));
    EXPECT_FALSE(fish.allowed("/fish.html"));
    EXPECT_FALSE(fish.allowed("/fishheads/yummy.html"));
    EXPECT_TRUE(fish.allowed("/Fish.asp"));  // paths are case-sensitive
    EXPECT_TRUE(fish.allowed("/catfish"));

    auto php = robots_rules::parse("User-agent: *\nDisallow: /fish*.php\n", "weft");
    EXPECT_FALSE(php.allowed("/fish.php"));
    EXPECT_FALSE(php.allowed("/fishheads/catfish.php?parameters"));
    EXPECT_TRUE(php.allowed("/Fish.PHP"));

    auto many = robots_rules::parse("User-agent: *\nDisallow: /a*b*c\n", "weft");
    EXPECT_FALSE(many.allowed("/a-b-c"));
    EXPECT_FALSE(many.allowed("/abbbc/more"));
    EXPECT_TRUE(many.allowed("/a-c-b"));

    auto query = robots_rules::parse("User-agent: *\nDisallow: /*?sort=\n", "weft");
    EXPECT_FALSE(query.allowed("/list?sort=asc"));
    EXPECT_TRUE(query.allowed("/list"));
    EXPECT_TRUE(query.allowed("/list?page=2"));
}

TEST(CrawlRobots, DollarAnchorsTheEnd) {
    auto rules = robots_rules::parse("User-agent: *\nDisallow: /*.php$\n", "weft");
    EXPECT_FALSE(rules.allowed("/filename.php"));
    EXPECT_FALSE(rules.allowed("/folder/filename.php"));
    EXPECT_TRUE(rules.allowed("/filename.php?parameters"));
    EXPECT_TRUE(rules.allowed("/filename.php/"));
    EXPECT_TRUE(rules.allowed("/filename.php5"));

    auto root_only = robots_rules::parse("User-agent: *\nAllow: /$\nDisallow: /\n", "weft");
    EXPECT_TRUE(root_only.allowed("/"));
    EXPECT_FALSE(root_only.allowed("/page.htm"));

    auto exact = robots_rules::parse("User-agent: *\nDisallow: /exact$\n", "weft");
    EXPECT_FALSE(exact.allowed("/exact"));
    EXPECT_TRUE(exact.allowed("/exact/"));
    EXPECT_TRUE(exact.allowed("/exactly"));
}

TEST(CrawlRobots, AgentGroupsMergeAndMatchCaseInsensitively) {
    const char* text = "User-agent: WEFT/1.0\n"
                       "Disallow: /one\n"
                       "\n"
                       "User-agent: otherbot\n"
                       "Disallow: /two\n"
                       "\n"
                       "User-agent: *\n"
                       "Disallow: /three\n"
                       "\n"
                       "user-agent: weft\n"
                       "disallow: /four\n";
    auto rules = robots_rules::parse(text, "weft");
    EXPECT_FALSE(rules.allowed("/one"));
    EXPECT_FALSE(rules.allowed("/four"));  // the second weft group merges with the first
    EXPECT_TRUE(rules.allowed("/two"));
    EXPECT_TRUE(rules.allowed("/three"));  // '*' does not apply once a weft group exists

    auto versioned = robots_rules::parse(text, "weft/0.1");  // only the product token counts
    EXPECT_FALSE(versioned.allowed("/one"));
    EXPECT_TRUE(versioned.allowed("/three"));

    auto not_prefix = robots_rules::parse("User-agent: weftbot\nDisallow: /\n", "weft");
    EXPECT_TRUE(not_prefix.allowed("/x"));  // "weftbot" is another crawler, and there is no '*' group
}

TEST(CrawlRobots, StarGroupIsTheFallbackAndMerges) {
    const char* text = "User-agent: *\n"
                       "Disallow: /a\n"
                       "User-agent: otherbot\n"
                       "Disallow: /b\n"
                       "User-agent: *\n"
                       "Disallow: /c\n";
    auto rules = robots_rules::parse(text, "weft");
    EXPECT_FALSE(rules.allowed("/a"));
    EXPECT_TRUE(rules.allowed("/b"));
    EXPECT_FALSE(rules.allowed("/c"));

    // One group naming both '*' and another agent applies to everyone.
    auto shared = robots_rules::parse("User-agent: otherbot\nUser-agent: *\nDisallow: /d\n", "weft");
    EXPECT_FALSE(shared.allowed("/d"));
}

TEST(CrawlRobots, RulesBeforeAnyUserAgentAndUnknownLinesAreIgnored) {
    auto rules = robots_rules::parse("Disallow: /early\n"
                                     "User-agent: *\n"
                                     "Sitemap: https://example.org/sitemap.xml\n"
                                     "Noindex: /x\n"
                                     "Disallow: /late # a comment\n"
                                     "# Disallow: /commented\n",
                                     "weft");
    EXPECT_TRUE(rules.allowed("/early"));
    EXPECT_FALSE(rules.allowed("/late"));
    EXPECT_TRUE(rules.allowed("/x"));
    EXPECT_TRUE(rules.allowed("/commented"));
}

TEST(CrawlRobots, EmptyDisallowAllowsAll) {
    auto rules = robots_rules::parse("User-agent: *\nDisallow:\n", "weft");
    EXPECT_TRUE(rules.allowed("/"));
    EXPECT_TRUE(rules.allowed("/anything?at=all"));
}

TEST(CrawlRobots, CrawlDelay) {
    EXPECT_EQ(robots_rules::parse("User-agent: *\nCrawl-delay: 2\n", "weft").crawl_delay(), 2000ms);
    EXPECT_EQ(robots_rules::parse("User-agent: *\nCrawl-delay: 0.25\n", "weft").crawl_delay(), 250ms);
    EXPECT_EQ(robots_rules::parse("User-agent: *\nDisallow: /x\n", "weft").crawl_delay(), std::nullopt);
    EXPECT_EQ(robots_rules::parse("User-agent: *\nCrawl-delay: soon\n", "weft").crawl_delay(), std::nullopt);
    EXPECT_EQ(robots_rules::parse("User-agent: *\nCrawl-delay: -1\n", "weft").crawl_delay(), std::nullopt);
    EXPECT_EQ(robots_rules::parse("User-agent: *\nCrawl-delay: 1e9\n", "weft").crawl_delay(),
              std::chrono::milliseconds(std::chrono::hours(24)));

    const char* text = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: weft\nCrawl-delay: 1\nCrawl-delay: 3\n";
    EXPECT_EQ(robots_rules::parse(text, "weft").crawl_delay(), 3000ms);   // own group, largest value
    EXPECT_EQ(robots_rules::parse(text, "other").crawl_delay(), 10000ms);  // '*' group
    auto delayed = robots_rules::parse("User-agent: *\nCrawl-delay: 5\n", "weft");
    EXPECT_TRUE(delayed.allowed("/"));  // a delay is not a rule
}

TEST(CrawlRobots, PercentEncodingIsNormalized) {
    auto tilde = robots_rules::parse("User-agent: *\nDisallow: /%7Ejoe\n", "weft");
    EXPECT_FALSE(tilde.allowed("/~joe/index.html"));
    EXPECT_FALSE(tilde.allowed("/%7ejoe"));

    auto unicode = robots_rules::parse("User-agent: *\nDisallow: /foo/bar/\xE3\x83\x84\n", "weft");
    EXPECT_FALSE(unicode.allowed("/foo/bar/%E3%83%84"));
    EXPECT_FALSE(unicode.allowed("/foo/bar/%e3%83%84"));
    EXPECT_FALSE(unicode.allowed("/foo/bar/\xE3\x83\x84"));

    auto decoded = robots_rules::parse("User-agent: *\nDisallow: /foo/bar/%62%61%7A\n", "weft");
    EXPECT_FALSE(decoded.allowed("/foo/bar/baz"));

    auto slash = robots_rules::parse("User-agent: *\nDisallow: /a%2fb\n", "weft");
    EXPECT_FALSE(slash.allowed("/a%2Fb"));
    EXPECT_TRUE(slash.allowed("/a/b"));  // an encoded reserved character stays encoded
}

TEST(CrawlRobots, RobotsTxtItselfIsAlwaysAllowed) {
    EXPECT_TRUE(robots_rules::parse("User-agent: *\nDisallow: /\n", "weft").allowed("/robots.txt"));
    EXPECT_TRUE(robots_rules::disallow_all().allowed("/robots.txt"));
}

TEST(CrawlRobots, AllowAllAndDisallowAll) {
    auto yes = robots_rules::allow_all();
    EXPECT_TRUE(yes.allowed("/"));
    EXPECT_TRUE(yes.allowed("/private/x?y=1"));
    EXPECT_EQ(yes.crawl_delay(), std::nullopt);
    EXPECT_TRUE(robots_rules{}.allowed("/x"));

    auto no = robots_rules::disallow_all();
    EXPECT_FALSE(no.allowed("/"));
    EXPECT_FALSE(no.allowed(""));
    EXPECT_FALSE(no.allowed("/index.html?x"));
}

TEST(CrawlRobots, EmptyAndGarbageFilesAllowEverything) {
    EXPECT_TRUE(robots_rules::parse("", "weft").allowed("/x"));
    EXPECT_TRUE(robots_rules::parse("\n\n\r\n", "weft").allowed("/x"));
    std::string garbage = "<html><body>Not found</body></html>\n";
    for (int c = 0; c < 256; ++c) garbage += static_cast<char>(c);
    auto rules = robots_rules::parse(garbage, "weft");
    EXPECT_TRUE(rules.allowed("/x"));
    EXPECT_EQ(rules.crawl_delay(), std::nullopt);
}

TEST(CrawlRobots, BomAndLineEndings) {
    auto crlf = robots_rules::parse("\xEF\xBB\xBFUser-agent: *\r\nDisallow: /a\r\nDisallow: /b\r\n", "weft");
    EXPECT_FALSE(crlf.allowed("/a"));
    EXPECT_FALSE(crlf.allowed("/b"));
    EXPECT_TRUE(crlf.allowed("/c"));
    auto cr_only = robots_rules::parse("User-agent: *\rDisallow: /a\r", "weft");
    EXPECT_FALSE(cr_only.allowed("/a"));
    auto spaced = robots_rules::parse("  User-agent :\t*  \n\tDisallow :  /a  \n", "weft");
    EXPECT_FALSE(spaced.allowed("/a"));
    EXPECT_TRUE(spaced.allowed("/"));
}

TEST(CrawlRobots, OnlyTheFirst500KiBAreRead) {
    std::string text = "User-agent: *\nDisallow: /early\n";
    const std::string filler = "# padding padding padding padding padding padding padding\n";
    const std::size_t limit = 500 * 1024;
    while (text.size() + filler.size() <= limit - 14) text += filler;
    // "Disallow: /abcdef" straddles the limit: read only to "/abc", it would block "/abcxyz";
    // the cut line must be dropped instead.
    text += std::string(limit - 14 - text.size(), '\n');  // "Disallow: /abc" ends at the limit
    text += "Disallow: /abcdef\n";
    text += "Disallow: /late\n";
    ASSERT_GT(text.size(), limit);
    auto rules = robots_rules::parse(text, "weft");
    EXPECT_FALSE(rules.allowed("/early"));
    EXPECT_TRUE(rules.allowed("/abcxyz"));
    EXPECT_TRUE(rules.allowed("/late"));
}
