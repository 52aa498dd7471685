//! Address forms accepted by `bind` and `connect`, as in tokio: `SocketAddr`,
//! `(IpAddr, u16)`, `"host:port"`, `(&str, u16)`, slices of addresses. A literal IP address
//! is parsed in place; a host name is resolved on the blocking pool, never on the event
//! loop.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses. Sealed: implemented for the forms
/// tokio accepts.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// How an address form turns into addresses.
    pub trait Sealed {
        /// Addresses known without a lookup, or the `(host, port)` to look up.
        fn to_addrs(&self) -> Addrs;

        /// The address, when it is a single literal one: no lookup, no allocation (the
        /// per-datagram path of `send_to`).
        fn single(&self) -> Option<SocketAddr> {
            None
        }
    }
}

/// Resolved addresses, or a host name still to resolve.
#[derive(Debug)]
pub enum Addrs {
    /// Known addresses (possibly none).
    Ready(Vec<SocketAddr>),
    /// Needs a DNS lookup.
    Lookup(String, u16),
    /// Malformed input.
    Invalid(io::Error),
}

/// The one address `addr` names, resolving it only if it is not a literal: the first of
/// the list, as `send_to` uses.
pub(crate) async fn first_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    match addr.single() {
        Some(addr) => Ok(addr),
        None => Ok(resolve(addr).await?[0]),
    }
}

/// Performs a DNS resolution, as tokio's `lookup_host`: the addresses `host` names, in the
/// order the resolver gives them. A literal address is returned as is; a host name is looked
/// up on the blocking pool, never on the event loop.
///
/// # Errors
///
/// `InvalidInput` for a malformed address (`"host"` without a port, a bad port), the
/// resolver's error for a name it cannot resolve, and an error saying so when called outside
/// a runtime with a name to look up.
///
/// # Examples
///
/// ```no_run
/// # runtime::Builder::new_current_thread().build()?.block_on(async {
/// for addr in net::lookup_host("localhost:3000").await? {
///     println!("socket address is {addr}");
/// }
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(lookup(host).await?.into_iter())
}

/// Resolves `addr` to a non-empty list, looking host names up on the blocking pool.
pub(crate) async fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs = lookup(addr).await?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address list is empty",
        ));
    }
    Ok(addrs)
}

/// Resolves `addr`, possibly to nothing, looking host names up on the blocking pool.
async fn lookup(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    match addr.to_addrs() {
        Addrs::Ready(addrs) => Ok(addrs),
        Addrs::Invalid(e) => Err(e),
        Addrs::Lookup(host, port) => {
            // Outside a runtime there is no blocking pool: an error, like any I/O type
            // created there, not the panic of `runtime::spawn_blocking`.
            let handle = runtime::Handle::try_current()
                .map_err(|e| io::Error::other(format!("resolving {host:?}: {e}")))?;
            let lookup = move || std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port));
            handle
                .spawn_blocking(move || lookup().map(Iterator::collect::<Vec<_>>))
                .await?
        }
    }
}

/// Tries `op` on each address in order: the first success, or the last error.
pub(crate) async fn each_addr<T, F>(
    addr: impl ToSocketAddrs,
    mut op: impl FnMut(SocketAddr) -> F,
) -> io::Result<T>
where
    F: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in resolve(addr).await? {
        match op(addr).await {
            Ok(value) => return Ok(value),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}

fn parse_host_port(s: &str) -> Addrs {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Addrs::Ready(vec![addr]);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Addrs::Invalid(invalid(format!(
            "invalid socket address {s:?}: expected \"host:port\""
        )));
    };
    match port.parse::<u16>() {
        Ok(port) => host_port(host, port),
        Err(_) => Addrs::Invalid(invalid(format!(
            "invalid port {port:?} in socket address {s:?}"
        ))),
    }
}

fn host_port(host: &str, port: u16) -> Addrs {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Addrs::Ready(vec![SocketAddr::new(ip, port)]);
    }
    // "[::1]" style hosts are literal addresses, not names.
    if let Some(ip) = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
    {
        return Addrs::Ready(vec![SocketAddr::new(ip.into(), port)]);
    }
    if host.is_empty() {
        return Addrs::Invalid(invalid("the host name is empty"));
    }
    Addrs::Lookup(host.to_owned(), port)
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

macro_rules! ready_addr {
    ($($t:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::Sealed for $t {
            fn to_addrs(&self) -> Addrs {
                Addrs::Ready(vec![self.single().expect("a literal address")])
            }

            fn single(&self) -> Option<SocketAddr> {
                let $s = self;
                Some($e)
            }
        }
    )*};
}

ready_addr! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(a.0.into(), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(a.0.into(), a.1);
    ([u8; 4], u16) => |a| SocketAddr::new(Ipv4Addr::from(a.0).into(), a.1);
}

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn to_addrs(&self) -> Addrs {
        parse_host_port(self)
    }

    fn single(&self) -> Option<SocketAddr> {
        self.parse().ok()
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn to_addrs(&self) -> Addrs {
        parse_host_port(self)
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        host_port(&self.0, self.1)
    }
}

impl ToSocketAddrs for &[SocketAddr] {}
impl sealed::Sealed for &[SocketAddr] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::Sealed for [SocketAddr; N] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl sealed::Sealed for Vec<SocketAddr> {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }

    fn single(&self) -> Option<SocketAddr> {
        (**self).single()
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::Sealed;
    use super::*;

    fn ready(a: &(impl ToSocketAddrs + ?Sized)) -> Vec<SocketAddr> {
        match a.to_addrs() {
            Addrs::Ready(v) => v,
            other => panic!("expected ready addresses, got {other:?}"),
        }
    }

    #[test]
    fn literal_addresses_need_no_lookup() {
        assert_eq!(ready("127.0.0.1:80"), vec!["127.0.0.1:80".parse().unwrap()]);
        assert_eq!(ready("[::1]:80"), vec!["[::1]:80".parse().unwrap()]);
        assert_eq!(ready(&("10.0.0.1", 5)), vec!["10.0.0.1:5".parse().unwrap()]);
        assert_eq!(ready(&("[::1]", 5)), vec!["[::1]:5".parse().unwrap()]);
        let ip: IpAddr = "::1".parse().unwrap();
        assert_eq!(ready(&(ip, 9)), vec![SocketAddr::new(ip, 9)]);
    }

    #[test]
    fn host_names_go_to_a_lookup() {
        assert!(matches!("localhost:80".to_addrs(), Addrs::Lookup(h, 80) if h == "localhost"));
        assert!(matches!(("example", 1).to_addrs(), Addrs::Lookup(h, 1) if h == "example"));
    }

    #[test]
    fn malformed_strings_are_invalid_input_naming_the_problem() {
        for bad in ["nonsense", "host:port", "host:99999", ":80", ""] {
            match bad.to_addrs() {
                Addrs::Invalid(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn slices_keep_their_order() {
        let list: Vec<SocketAddr> = vec![
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        ];
        assert_eq!(ready(&list.as_slice()), list);
        assert!(ready(&Vec::<SocketAddr>::new()).is_empty());
    }
}
