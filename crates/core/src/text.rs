//! Small normalization helpers shared by readers and detections.

/// Canonical form of an account name for case-insensitive comparison:
/// trimmed and lower-cased (Unicode-aware).
pub fn normalize_user(raw: &str) -> String {
    let t = raw.trim();
    if t.bytes().all(|b| !b.is_ascii_uppercase() && b.is_ascii()) {
        t.to_string()
    } else {
        t.to_lowercase()
    }
}

/// Normalizes a source address as logs write it: trims, strips the
/// IPv4-mapped IPv6 prefix (`::ffff:10.0.0.5` → `10.0.0.5`) and brackets.
/// Values that mean "no address" (`-`, empty, `::1`/`127.0.0.1` loopback
/// is kept) return `None`.
pub fn normalize_ip(raw: &str) -> Option<String> {
    let t = strip_port(raw.trim());
    if t.is_empty() || t == "-" || t == "::" || t.eq_ignore_ascii_case("null") {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("::ffff:")
        && rest.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return Some(rest.to_string());
    }
    Some(if lower.contains(':') {
        lower
    } else {
        t.to_string()
    })
}

/// Removes a port from `a.b.c.d:port` and `[v6]:port` (Azure Monitor's
/// `callerIpAddress` may carry one), and brackets from `[v6]`.
fn strip_port(t: &str) -> &str {
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(addr, _)| addr);
    }
    match t.split_once(':') {
        Some((v4, port))
            if !port.contains(':')
                && port.bytes().all(|b| b.is_ascii_digit())
                && v4.parse::<std::net::Ipv4Addr>().is_ok() =>
        {
            v4
        }
        _ => t,
    }
}

/// Canonical Windows status text: lower-case hex without leading zeros
/// (`0xC0000064` → `0xc0000064`, `0x00000006` → `0x6`). Non-hex values are
/// returned trimmed and lower-cased.
pub fn normalize_status(raw: &str) -> String {
    let t = raw.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x")
        && let Ok(n) = u64::from_str_radix(hex, 16)
    {
        return format!("{n:#x}");
    }
    lower
}

/// The /24 (IPv4) or /64 (IPv6) network of an address, as CIDR text
/// (`203.0.113.0/24`, `2001:db8:1:2::/64`); `None` for non-addresses.
pub fn subnet_of(ip: &str) -> Option<String> {
    match ip.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            Some(format!("{net}/64"))
        }
    }
}

/// KQL `isnotempty`: present and not the empty string.
pub fn is_not_empty(v: Option<&str>) -> bool {
    v.is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips() {
        assert_eq!(
            normalize_ip("::ffff:10.0.0.66").as_deref(),
            Some("10.0.0.66")
        );
        assert_eq!(
            normalize_ip("::FFFF:10.0.0.66").as_deref(),
            Some("10.0.0.66")
        );
        assert_eq!(
            normalize_ip(" 203.0.113.5 ").as_deref(),
            Some("203.0.113.5")
        );
        assert_eq!(normalize_ip("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(normalize_ip("-"), None);
        assert_eq!(
            normalize_ip("203.0.113.5:51234").as_deref(),
            Some("203.0.113.5")
        );
        assert_eq!(
            normalize_ip("[2001:db8::1]:443").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            normalize_ip("[2001:db8::1]").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(normalize_ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(normalize_ip(""), None);
    }

    #[test]
    fn subnets() {
        assert_eq!(subnet_of("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            subnet_of("2001:db8:1:2:3:4:5:6").as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(subnet_of("KALI"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(normalize_status("0xC0000064"), "0xc0000064");
        assert_eq!(normalize_status("0x00000006"), "0x6");
        assert_eq!(normalize_status("0x0"), "0x0");
        assert_eq!(normalize_status("%%2313"), "%%2313");
    }

    #[test]
    fn users() {
        assert_eq!(normalize_user(" JDoe@Contoso.COM "), "jdoe@contoso.com");
        assert_eq!(normalize_user("ÅSA@x.se"), "åsa@x.se");
    }
}
