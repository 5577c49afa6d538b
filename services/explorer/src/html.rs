//! The page frame and the small HTML helpers every page uses: escaping,
//! query-string encoding, the layout, the search form, the error page.
//! No dependency on the rest of the crate but the search kinds.

use crate::query::KINDS;
use axum::response::Html;
use std::fmt::Write as _;

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn search_link(kind: &str, q: &str, text: &str) -> String {
    format!("<a href=\"/search?kind={}&amp;q={}\">{}</a>", enc(kind), enc(q), esc(text))
}

pub fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · Sigstead log explorer</title>\
<link rel=\"stylesheet\" href=\"/assets/explorer.css\">\
<link rel=\"icon\" href=\"data:,\">\
<script type=\"module\" src=\"/assets/explorer.js\"></script></head>\
<body><a class=\"skip\" href=\"#main\">Skip to content</a>\
<header><nav aria-label=\"Sections\"><a class=\"brand\" href=\"/\">Sigstead log explorer</a>\
<a href=\"/\">Search</a><a href=\"/trust\">Trust &amp; status</a></nav></header>\
<main id=\"main\" tabindex=\"-1\">{body}</main>\
<footer>Served by this Sigstead stack; nothing on this page loads from elsewhere.</footer></body></html>",
        t = esc(title)
    ))
}

/// A whole page for an error status.
pub fn error_page(title: &str, message: &str) -> Html<String> {
    layout(
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>{}",
            esc(title),
            esc(message),
            search_form("auto", "")
        ),
    )
}

pub fn search_form(kind: &str, q: &str) -> String {
    let mut opts = String::new();
    for (value, label) in KINDS {
        let sel = if *value == kind { " selected" } else { "" };
        let _ = write!(opts, "<option value=\"{value}\"{sel}>{}</option>", esc(label));
    }
    format!(
        "<form class=\"search\" action=\"/search\" method=\"get\" role=\"search\">\
<label for=\"q\">Search the log</label>\
<div class=\"row\"><input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" \
placeholder=\"email, URI, issuer, sha256:…, PEM key, log index or UUID\" required autocomplete=\"off\">\
<label class=\"visually-hidden\" for=\"kind\">Search for</label><select id=\"kind\" name=\"kind\">{opts}</select>\
<button type=\"submit\">Search</button></div></form>",
        esc(q)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_encoding() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(enc("a b@c/d?e=f&g"), "a%20b%40c%2Fd%3Fe%3Df%26g");
    }
}
