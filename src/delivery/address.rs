//! Which receiver addresses push delivery may reach.
//!
//! A subscription's URL is chosen by an `afnemen` credential, and its status
//! shows how deliveries fail; without limits that makes ladderpost a probe
//! of its own host and internal network. So receivers on loopback, private,
//! link-local and similar addresses are refused, at registration (by the
//! URL's text) and again at every delivery (by the addresses actually
//! connected to: a name may resolve elsewhere by then), unless the operator
//! allows them (`--allow-private-receivers`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The flag that lifts the policy, for messages.
pub const FLAG: &str = "--allow-private-receivers";

/// A range receivers may not be in; `Display` names the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Loopback,
    /// RFC 1918.
    Private,
    /// 100.64.0.0/10, RFC 6598.
    SharedAddressSpace,
    LinkLocal,
    /// fec0::/10, deprecated but still routed inside some networks.
    SiteLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 0.0.0.0/8 and `::`.
    Unspecified,
    Multicast,
    Broadcast,
    /// `localhost` and `*.localhost` (RFC 6761), whatever DNS says.
    LocalhostName,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Forbidden::Loopback => "loopback (127.0.0.0/8, ::1)",
            Forbidden::Private => "private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
            Forbidden::SharedAddressSpace => "shared address space (100.64.0.0/10)",
            Forbidden::LinkLocal => "link-local (169.254.0.0/16, fe80::/10)",
            Forbidden::SiteLocal => "site-local (fec0::/10)",
            Forbidden::UniqueLocal => "unique local (fc00::/7)",
            Forbidden::Unspecified => "unspecified (0.0.0.0/8, ::)",
            Forbidden::Multicast => "multicast (224.0.0.0/4, ff00::/8)",
            Forbidden::Broadcast => "broadcast (255.255.255.255)",
            Forbidden::LocalhostName => "the name localhost",
        })
    }
}

/// The forbidden range `ip` is in, if any. IPv6 forms that carry an IPv4
/// address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`) are judged by that IPv4 address.
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    let [a, b, ..] = ip.octets();
    Some(if ip.is_loopback() {
        Forbidden::Loopback
    } else if ip.is_private() {
        Forbidden::Private
    } else if a == 100 && (b & 0xc0) == 64 {
        Forbidden::SharedAddressSpace
    } else if ip.is_link_local() {
        Forbidden::LinkLocal
    } else if a == 0 {
        // Linux connects 0.0.0.0 to the local host.
        Forbidden::Unspecified
    } else if ip.is_multicast() {
        Forbidden::Multicast
    } else if ip.is_broadcast() {
        Forbidden::Broadcast
    } else {
        return None;
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    let s = ip.segments();
    Some(if ip.is_loopback() {
        Forbidden::Loopback
    } else if ip.is_unspecified() {
        Forbidden::Unspecified
    } else if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
        // Mapped or compatible: whatever the embedded IPv4 address is.
        return classify_v4(embedded_v4(ip));
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(ip));
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Forbidden::LinkLocal
    } else if (s[0] & 0xffc0) == 0xfec0 {
        Forbidden::SiteLocal
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Forbidden::UniqueLocal
    } else if ip.is_multicast() {
        Forbidden::Multicast
    } else {
        return None;
    })
}

fn embedded_v4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

/// The IP address a URL's host is written as, if it is one.
pub fn literal(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    // IPv6 hosts come in brackets; the URL parser has already turned
    // every IPv4 notation (decimal, hex, octal) into dotted form.
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Why a receiver URL is refused at registration: its host is a forbidden
/// IP address or a localhost name. Other names are checked when delivering,
/// against what they resolve to.
pub fn check_url(url: &reqwest::Url) -> Result<(), Forbidden> {
    if let Some(ip) = literal(url) {
        return classify(ip).map_or(Ok(()), Err);
    }
    let name = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(Forbidden::LocalhostName);
    }
    Ok(())
}

/// A delivery refused because of where it would go. The same whatever
/// listens there: it is decided before connecting.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// A receiver whose host is an IP address in a forbidden range.
    pub fn literal(range: Forbidden) -> Refused {
        Refused(format!(
            "refused: the receiver's address is {range}; such receivers need {FLAG}"
        ))
    }

    /// A receiver whose name resolves to forbidden addresses only. The
    /// range is not named: it would tell what internal names resolve to.
    pub fn resolved() -> Refused {
        Refused(format!(
            "refused: the receiver's host name resolves to no address that may receive deliveries (loopback, private and link-local addresses need {FLAG})"
        ))
    }

    /// The refusal somewhere in a request error's causes.
    pub fn find<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        let mut cause = Some(e);
        while let Some(c) = cause {
            if let Some(r) = c.downcast_ref::<Refused>() {
                return Some(r);
            }
            cause = c.source();
        }
        None
    }
}

/// reqwest's resolver for deliveries: the system's resolution, without
/// forbidden addresses; an error when none is left, so nothing connects.
#[derive(Debug, Default)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(resolve_public(host))
    }
}

async fn resolve_public(
    host: String,
) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    // Port 0: reqwest puts the URL's port in.
    let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    let allowed: Vec<SocketAddr> = all
        .into_iter()
        .filter(|a| classify(a.ip()).is_none())
        .collect();
    if allowed.is_empty() {
        return Err(Box::new(Refused::resolved()));
    }
    Ok(Box::new(allowed.into_iter()))
}

/// The delivery client's resolver: [`PublicOnly`] unless private receivers
/// are allowed (then the default).
pub fn resolver(allow_private: bool) -> Option<Arc<PublicOnly>> {
    (!allow_private).then(|| Arc::new(PublicOnly))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<Forbidden> {
        classify(s.parse().expect("an IP address"))
    }

    #[test]
    fn ipv4_ranges() {
        use Forbidden::*;
        for (ip, want) in [
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.168.1.1", Some(Private)),
            ("192.169.0.1", None),
            ("100.64.0.1", Some(SharedAddressSpace)),
            ("100.127.255.255", Some(SharedAddressSpace)),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.255.0.1", None),
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.255", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("145.21.1.1", None),
            ("1.0.0.0", None),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges() {
        use Forbidden::*;
        for (ip, want) in [
            ("::1", Some(Loopback)),
            ("::", Some(Unspecified)),
            ("fe80::1", Some(LinkLocal)),
            ("febf:ffff::1", Some(LinkLocal)),
            ("fec0::1", Some(SiteLocal)),
            ("fc00::1", Some(UniqueLocal)),
            ("fd12:3456::1", Some(UniqueLocal)),
            ("fe00::1", None),
            ("ff02::1", Some(Multicast)),
            ("ff0e::1", Some(Multicast)),
            ("2001:db8::1", None),
            ("2a00:1450:4001::1", None),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_are_judged_by_the_ipv4_address() {
        use Forbidden::*;
        for (ip, want) in [
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:192.168.0.1", Some(Private)),
            ("::ffff:100.64.0.1", Some(SharedAddressSpace)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:224.0.0.1", Some(Multicast)),
            ("::ffff:255.255.255.255", Some(Broadcast)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::10.0.0.1", Some(Private)),
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::192.168.0.1", Some(Private)),
            ("64:ff9b::8.8.8.8", None),
        ] {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    fn url_check(s: &str) -> Result<(), Forbidden> {
        check_url(&reqwest::Url::parse(s).expect("a URL"))
    }

    #[test]
    fn urls_are_judged_by_their_host() {
        use Forbidden::*;
        for (url, want) in [
            ("http://127.0.0.1:8090/x", Err(Loopback)),
            // Other notations of 127.0.0.1, normalised by the URL parser.
            ("http://2130706433/", Err(Loopback)),
            ("http://0x7f.1/", Err(Loopback)),
            ("http://0177.0.0.1/", Err(Loopback)),
            ("http://[::1]:80/", Err(Loopback)),
            ("http://[::ffff:127.0.0.1]/", Err(Loopback)),
            ("http://[::ffff:a9fe:a9fe]/", Err(LinkLocal)),
            ("http://[fd00::5]/", Err(UniqueLocal)),
            ("http://10.0.0.5/", Err(Private)),
            ("http://0.0.0.0:22/", Err(Unspecified)),
            ("http://localhost:8080/", Err(LocalhostName)),
            ("http://LOCALHOST./", Err(LocalhostName)),
            ("http://api.localhost/", Err(LocalhostName)),
            ("http://notlocalhost.example/", Ok(())),
            ("http://localhost.example.nl/", Ok(())),
            ("https://kvs.example.nl/ladderpost", Ok(())),
            ("http://8.8.8.8/", Ok(())),
            ("http://[2001:db8::1]/", Ok(())),
        ] {
            assert_eq!(url_check(url), want, "{url}");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_forbidden_addresses() {
        // localhost resolves (hosts file) to loopback only.
        let e = resolve_public("localhost".into())
            .await
            .err()
            .expect("refused");
        assert!(Refused::find(&*e).is_some(), "{e}");
        // An IP literal resolves to itself: a public one stays.
        let kept: Vec<SocketAddr> = resolve_public("8.8.8.8".into())
            .await
            .expect("resolved")
            .collect();
        assert_eq!(kept, vec![SocketAddr::from(([8, 8, 8, 8], 0))]);
    }

    /// Through reqwest, as deliveries use it: a name that resolves to
    /// loopback is not connected to, even though something listens there.
    #[tokio::test]
    async fn a_client_with_the_resolver_does_not_connect_to_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // If it did connect, the request would time out instead.
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .dns_resolver(resolver(false).expect("restricted"))
            .build()
            .expect("client");
        let e = client
            .post(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("refused");
        let refused = Refused::find(&e).expect("the refusal among the causes");
        assert_eq!(refused.0, Refused::resolved().0);
        // Nothing connected: a connection made would be waiting already.
        let accepted =
            tokio::time::timeout(std::time::Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "a connection reached the listener");
    }
}
