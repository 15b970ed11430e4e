//! Text syntaxes cells accept: dates, datetimes, email addresses and http(s) URLs.
//! Hand-written and strict, so what is accepted is exactly what is documented here.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};

/// Parses `YYYY-MM-DD` exactly (four-digit year 0001..=9999, two-digit month and day).
/// chrono's `%Y-%m-%d` also takes `2024-1-2` and signed years, which would not
/// round-trip to the same text.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = digits(0..4)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, digits(5..7)?, digits(8..10)?)?;
    (year >= 1).then_some(date)
}

/// The canonical text of a date.
pub(crate) fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses RFC 3339, converts to UTC and truncates to microseconds (what PostgreSQL's
/// `timestamptz` keeps). Refuses instants whose UTC year leaves 0001..=9999, because
/// the canonical text could not be parsed back.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    normalise_datetime(parsed)
}

/// Truncates to microseconds and checks the year range.
pub(crate) fn normalise_datetime(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
    // A leap second (nanos ≥ 1e9) folds into the same second's last microsecond.
    let micros = (t.nanosecond() / 1000).min(999_999);
    t.with_nanosecond(micros * 1000)
}

/// The canonical text of an instant: fixed width, so it also sorts as text.
pub(crate) fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A sane email check, not RFC 5322: one `@`, a local part of 1..=64 printable
/// non-space characters, and a domain of at least two dot-separated labels of letters,
/// digits and inner hyphens (or non-ASCII, for internationalised domains); 254 bytes at
/// most, as SMTP allows.
pub(crate) fn is_email(s: &str) -> bool {
    if s.len() > 254 {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '@' | '<' | '>' | '"' | ',' | ';' | '(' | ')' | '[' | ']' | '\\'
                )
        });
    local_ok && is_domain(domain, true)
}

/// Letters, digits, inner hyphens per label, 1..=63 bytes each; `need_dot` demands at
/// least two labels.
fn is_domain(domain: &str, need_dot: bool) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if need_dot && labels.len() < 2 {
        return false;
    }
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    })
}

/// An absolute `http://` or `https://` URL (scheme any case) with a host: a domain
/// name (one label is fine, e.g. `localhost`), an IPv4 address or a bracketed IPv6
/// address; an optional port 0..=65535; then any path, query and fragment free of
/// whitespace and control characters. Credentials (`user@`) are refused: a link in a
/// shared table should not carry a password.
pub(crate) fn is_http_url(s: &str) -> bool {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower_scheme = s.get(..8).map(str::to_ascii_lowercase);
    let rest = match lower_scheme.as_deref() {
        Some(p) if p.starts_with("http://") => &s[7..],
        Some("https://") => &s[8..],
        _ => return false,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return false;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            p => (None, p.strip_prefix(':')),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(authority), None),
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
    });
    let host_ok =
        host.is_none_or(|h| h.parse::<std::net::Ipv4Addr>().is_ok() || is_domain(h, false));
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_exactly_year_month_day() {
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2023-02-29").is_none());
        assert!(parse_date("2024-2-09").is_none());
        assert!(parse_date("0000-01-01").is_none());
        assert!(parse_date("+024-01-01").is_none());
        assert!(parse_date("2024-01-01T00:00:00Z").is_none());
    }

    #[test]
    fn datetimes_are_moved_to_utc_and_cut_to_microseconds() {
        let t = parse_datetime("2024-03-01T01:30:00.123456789+02:00").unwrap();
        assert_eq!(format_datetime(t), "2024-02-29T23:30:00.123456Z");
    }

    #[test]
    fn datetimes_whose_utc_year_leaves_four_digits_are_refused() {
        assert!(parse_datetime("0001-01-01T00:30:00+01:00").is_none());
        assert!(parse_datetime("9999-12-31T23:30:00-01:00").is_none());
        assert!(parse_datetime("not a date").is_none());
    }

    #[test]
    fn ordinary_emails_pass_and_odd_ones_fail() {
        for ok in ["a@b.co", "first.last+tag@example.org", "josé@exämple.de"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a b@c.de", "a@b..co", "a@-b.co", "a@@b.co",
            ".a@b.co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_pass() {
        for ok in [
            "https://example.com",
            "HTTP://localhost:8080/x?y=1#z",
            "http://127.0.0.1/",
            "https://[::1]:443/path",
            "https://例え.jp/パス",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "ftp://example.com",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://user:pw@example.com",
            "https://exa mple.com",
            "https://example.com:99999",
            "https://[nope]/",
            "example.com",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}
