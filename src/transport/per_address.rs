//! The cap on connections per client address, so that one address cannot
//! take the connections every client shares.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Open connections per client address. IPv6 addresses count per /64,
/// the block one host usually holds.
#[derive(Clone)]
pub struct PerAddress {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, Entry>>>,
}

#[derive(Default)]
struct Entry {
    connections: usize,
    /// Whether the refusals of this spell at the cap have been logged.
    logged: bool,
}

/// One connection's place in its address's count, given back on drop.
pub struct Slot {
    key: IpAddr,
    open: Option<Arc<Mutex<HashMap<IpAddr, Entry>>>>,
}

impl PerAddress {
    /// `cap` connections per address; 0 for no cap.
    pub fn new(cap: usize) -> PerAddress {
        PerAddress {
            cap,
            open: Arc::default(),
        }
    }

    /// A place for one more connection from `ip`, or `None` when that
    /// address holds its cap already.
    pub fn take(&self, ip: IpAddr) -> Option<Slot> {
        let key = key(ip);
        if self.cap == 0 {
            return Some(Slot { key, open: None });
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let entry = open.entry(key).or_default();
        if entry.connections >= self.cap {
            if !entry.logged {
                entry.logged = true;
                tracing::warn!(
                    address = %key,
                    cap = self.cap,
                    "closing connections over the per-address cap"
                );
            }
            return None;
        }
        entry.connections += 1;
        Some(Slot {
            key,
            open: Some(self.open.clone()),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(open) = &self.open else { return };
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = open.get_mut(&self.key) {
            entry.connections -= 1;
            entry.logged = false;
            if entry.connections == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The address a connection counts against: IPv4 as is (also when mapped
/// into IPv6), IPv6 by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_cap_and_its_places_back() {
        let cap = PerAddress::new(2);
        let a = cap.take(ip("10.0.0.1")).unwrap();
        let _b = cap.take(ip("10.0.0.1")).unwrap();
        assert!(cap.take(ip("10.0.0.1")).is_none());
        assert!(
            cap.take(ip("10.0.0.2")).is_some(),
            "another address is not affected"
        );
        drop(a);
        assert!(cap.take(ip("10.0.0.1")).is_some());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let cap = PerAddress::new(1);
        let _a = cap.take(ip("2001:db8:1:2::1")).unwrap();
        assert!(cap.take(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(cap.take(ip("2001:db8:1:3::1")).is_some());
        let _v4 = cap.take(ip("192.0.2.7")).unwrap();
        assert!(cap.take(ip("::ffff:192.0.2.7")).is_none());
    }

    #[test]
    fn zero_is_no_cap() {
        let cap = PerAddress::new(0);
        let slots: Vec<_> = (0..100)
            .map(|_| cap.take(ip("10.0.0.1")).unwrap())
            .collect();
        assert_eq!(slots.len(), 100);
    }
}
