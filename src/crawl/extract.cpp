// weft::crawl extraction: libxml2's HTML parser and XPath, srcset splitting, regex links.
#include <weft/crawl/extract.hpp>
#include <weft/crawl/url.hpp>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include <climits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <unordered_set>
#include <utility>

namespace weft::crawl {

namespace {

// libxml2 must be initialised once before use from several threads.
void init_libxml() {
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
}

// While alive, routes this thread's libxml2 errors here instead of stderr and keeps the
// first one; restores the previous handlers after (libxml2's handlers are per thread).
// `with_column`: report where in the XPath expression compiling stopped.
class error_capture {
public:
    explicit error_capture(bool with_column = false)
        : with_column_(with_column),
          old_structured_(xmlStructuredError),
          old_structured_ctx_(xmlStructuredErrorContext),
          old_generic_(xmlGenericError),
          old_generic_ctx_(xmlGenericErrorContext) {
        xmlSetStructuredErrorFunc(this, &on_error);
        xmlSetGenericErrorFunc(this, &ignore);
    }
    ~error_capture() {
        xmlSetStructuredErrorFunc(old_structured_ctx_, old_structured_);
        xmlSetGenericErrorFunc(old_generic_ctx_, old_generic_);
    }
    error_capture(const error_capture&) = delete;
    error_capture& operator=(const error_capture&) = delete;

    // The first error's message with its column ("Invalid expression at column 6").
    std::string reason() const { return reason_.empty() ? std::string("evaluation failed") : reason_; }

private:
    static void on_error(void* self, xmlErrorPtr error) {
        auto* me = static_cast<error_capture*>(self);
        if (!me->reason_.empty() || error == nullptr) return;
        std::string message = error->message != nullptr ? error->message : "error";
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
        if (me->with_column_ && error->domain == XML_FROM_XPATH && error->str1 != nullptr)
            message += " at column " + std::to_string(error->int1 + 1);
        me->reason_ = std::move(message);
    }
    static void ignore(void*, const char*, ...) {}

    bool with_column_;
    xmlStructuredErrorFunc old_structured_;
    void* old_structured_ctx_;
    xmlGenericErrorFunc old_generic_;
    void* old_generic_ctx_;
    std::string reason_;
};

struct xml_free {
    void operator()(xmlChar* p) const noexcept { xmlFree(p); }
};
using xml_string = std::unique_ptr<xmlChar, xml_free>;

struct context_free {
    void operator()(xmlXPathContext* p) const noexcept { xmlXPathFreeContext(p); }
};
struct object_free {
    void operator()(xmlXPathObject* p) const noexcept { xmlXPathFreeObject(p); }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

void add_value(std::vector<std::string>& out, std::string_view value) {
    value = trim(value);
    if (!value.empty()) out.emplace_back(value);
}

bool is_srcset_name(const xmlChar* name) {
    if (name == nullptr) return false;
    std::string n(reinterpret_cast<const char*>(name));
    for (char& c : n)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return n == "srcset" || n.ends_with("-srcset");
}

// The candidate URLs of a srcset value (HTML standard, "parse a srcset attribute", without
// validating descriptors): a URL runs to whitespace; trailing commas end it; descriptors run
// to the next comma outside parentheses.
void add_srcset(std::vector<std::string>& out, std::string_view s) {
    std::size_t i = 0;
    while (true) {
        while (i < s.size() && (is_space(s[i]) || s[i] == ',')) ++i;
        if (i >= s.size()) return;
        std::size_t start = i;
        while (i < s.size() && !is_space(s[i])) ++i;
        std::string_view url = s.substr(start, i - start);
        bool ended_by_comma = false;
        while (!url.empty() && url.back() == ',') {
            url.remove_suffix(1);
            ended_by_comma = true;
        }
        if (!url.empty()) out.emplace_back(url);
        if (ended_by_comma) continue;
        int depth = 0;  // skip the descriptors
        for (; i < s.size(); ++i) {
            if (s[i] == '(') ++depth;
            else if (s[i] == ')' && depth > 0) --depth;
            else if (s[i] == ',' && depth == 0) break;
        }
    }
}

std::string node_value(xmlNode* node) {
    if (node->type == XML_NAMESPACE_DECL) {
        auto* ns = reinterpret_cast<xmlNs*>(node);
        return ns->href != nullptr ? reinterpret_cast<const char*>(ns->href) : "";
    }
    xml_string content(xmlNodeGetContent(node));
    return content ? reinterpret_cast<const char*>(content.get()) : "";
}

// Resolves each value against `base`, dropping unusable ones and duplicates (by normalize_url).
std::vector<std::string> resolve_all(const std::vector<std::string>& values, std::string_view base) {
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;
    for (const std::string& value : values) {
        std::optional<std::string> url = resolve_url(base, value);
        if (!url) continue;
        std::string key;
        try {
            key = normalize_url(*url);
        } catch (const std::invalid_argument&) {
            continue;
        }
        if (seen.insert(std::move(key)).second) out.push_back(std::move(*url));
    }
    return out;
}

}  // namespace

struct xpath::compiled {
    explicit compiled(xmlXPathCompExpr* e) : expr(e) {}
    ~compiled() { xmlXPathFreeCompExpr(expr); }
    compiled(const compiled&) = delete;
    compiled& operator=(const compiled&) = delete;
    xmlXPathCompExpr* expr;
};

xpath::xpath(std::string expression) : text_(std::move(expression)) {
    init_libxml();
    error_capture errors(/*with_column=*/true);
    xmlXPathCompExpr* expr = xmlXPathCompile(reinterpret_cast<const xmlChar*>(text_.c_str()));
    if (expr == nullptr) throw std::invalid_argument("bad XPath '" + text_ + "': " + errors.reason());
    compiled_ = std::make_unique<compiled>(expr);
}

xpath::~xpath() = default;
xpath::xpath(xpath&& other) noexcept = default;
xpath& xpath::operator=(xpath&& other) noexcept = default;

struct html_document::parsed {
    explicit parsed(xmlDoc* d) : doc(d) {}
    ~parsed() { xmlFreeDoc(doc); }
    parsed(const parsed&) = delete;
    parsed& operator=(const parsed&) = delete;
    xmlDoc* doc;
};

html_document::html_document(std::string_view utf8_html, std::string url) : url_(std::move(url)) {
    init_libxml();
    if (utf8_html.size() > static_cast<std::size_t>(INT_MAX))
        throw std::invalid_argument("HTML page '" + url_ + "' is too large to parse (" +
                                    std::to_string(utf8_html.size()) + " bytes)");
    constexpr int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                            HTML_PARSE_IGNORE_ENC | HTML_PARSE_COMPACT;
    xmlDoc* doc = nullptr;
    {
        error_capture quiet;
        // The encoding is given, so a <meta charset> inside cannot switch the decoder.
        if (!utf8_html.empty())
            doc = htmlReadMemory(utf8_html.data(), static_cast<int>(utf8_html.size()), url_.c_str(), "UTF-8",
                                 options);
    }
    if (doc == nullptr) doc = htmlNewDocNoDtD(nullptr, nullptr);  // empty or unparsable: an empty page
    if (doc == nullptr) throw std::bad_alloc();
    doc_ = std::make_unique<parsed>(doc);

    base_url_ = url_;
    std::vector<std::string> base = select(xpath("(//base[@href])[1]/@href"));
    if (!base.empty())
        if (std::optional<std::string> resolved = resolve_url(url_, base.front())) base_url_ = std::move(*resolved);
}

html_document::~html_document() = default;
html_document::html_document(html_document&& other) noexcept = default;
html_document& html_document::operator=(html_document&& other) noexcept = default;

std::vector<std::string> html_document::select(const xpath& expression) const {
    if (!expression.compiled_ || !doc_)
        throw std::logic_error("weft::crawl::html_document::select: moved-from xpath or document");
    error_capture errors;
    std::unique_ptr<xmlXPathContext, context_free> context(xmlXPathNewContext(doc_->doc));
    if (!context) throw std::bad_alloc();
    context->node = reinterpret_cast<xmlNode*>(doc_->doc);
    std::unique_ptr<xmlXPathObject, object_free> result(
        xmlXPathCompiledEval(expression.compiled_->expr, context.get()));
    if (!result) throw std::invalid_argument("bad XPath '" + expression.text() + "': " + errors.reason());

    std::vector<std::string> out;
    if (result->type == XPATH_NODESET) {
        if (result->nodesetval == nullptr) return out;
        for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
            xmlNode* node = result->nodesetval->nodeTab[i];
            std::string value = node_value(node);
            if (node->type == XML_ATTRIBUTE_NODE && is_srcset_name(node->name))
                add_srcset(out, value);
            else
                add_value(out, value);
        }
        return out;
    }
    xml_string value(xmlXPathCastToString(result.get()));
    if (value) add_value(out, reinterpret_cast<const char*>(value.get()));
    return out;
}

std::vector<std::string> html_document::links(const xpath& expression) const {
    return resolve_all(select(expression), base_url_);
}

std::regex compile_regex(std::string_view pattern) {
    const char* first = pattern.data();
    const char* last = pattern.data() + pattern.size();
#if defined(__GLIBCXX__)
    // libstdc++'s default (depth-first) matcher recurses once per character matched and
    // overflows the stack on a long line (GCC bug 86164); its breadth-first matcher does
    // not, but it refuses back-references, which keep the default one.
    try {
        return std::regex(first, last, std::regex::ECMAScript | std::regex_constants::__polynomial);
    } catch (const std::regex_error&) {
        // a back-reference, or a malformed pattern: reported below
    }
#endif
    try {
        return std::regex(first, last, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        throw std::invalid_argument("bad regex '" + std::string(pattern) + "': " + e.what());
    }
}

std::vector<std::string> regex_links(std::string_view text, const std::regex& pattern, std::string_view base) {
    const char* begin = text.empty() ? "" : text.data();
    std::size_t group = pattern.mark_count() >= 1 ? 1 : 0;
    std::vector<std::string> captures;
    for (std::cregex_iterator it(begin, begin + text.size(), pattern), end; it != end; ++it) {
        const std::csub_match& m = (*it)[group];
        if (m.matched) captures.emplace_back(m.first, m.second);
    }
    return resolve_all(captures, base);
}

}  // namespace weft::crawl
