//! `--dns`: what the configured nameservers say, asked directly with
//! hickory-resolver, to show what the system answer hides (a hosts entry
//! shadowing DNS, a family the system dropped).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

/// Each query is bounded; the whole view is bounded too.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(6);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsView {
    /// The nameservers asked, as `address:port`.
    pub servers: Vec<String>,
    pub a: Vec<IpAddr>,
    pub aaaa: Vec<IpAddr>,
    /// Why an answer is missing (timeout, no nameserver, NXDOMAIN...).
    pub errors: Vec<String>,
}

/// Asks `server` (or the nameservers of /etc/resolv.conf) for A and AAAA
/// records of `host`, never the hosts file.
pub fn query(host: &str, server: Option<SocketAddr>) -> DnsView {
    let mut view = DnsView::default();
    let (config, mut options) = match configuration(server) {
        Ok(pair) => pair,
        Err(error) => {
            view.errors.push(error);
            return view;
        }
    };
    view.servers = config
        .name_servers()
        .iter()
        .flat_map(|ns| {
            ns.connections
                .iter()
                .map(move |c| SocketAddr::new(ns.ip, c.port).to_string())
        })
        .fold(Vec::new(), |mut seen, s| {
            if !seen.contains(&s) {
                seen.push(s);
            }
            seen
        });
    if view.servers.is_empty() {
        view.errors.push("no nameserver is configured".into());
        return view;
    }
    options.timeout = QUERY_TIMEOUT;
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            view.errors
                .push(format!("starting the DNS client: {error}"));
            return view;
        }
    };
    let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = options;
    let resolver = match builder.build() {
        Ok(resolver) => resolver,
        Err(error) => {
            view.errors
                .push(format!("setting up the DNS client: {error}"));
            return view;
        }
    };
    // A fully qualified name: no search domains, exactly what was asked.
    let name = if host.ends_with('.') {
        host.to_owned()
    } else {
        format!("{host}.")
    };
    // Both questions at once, so an unanswering server costs one timeout.
    let lookups: Vec<_> = [RecordType::A, RecordType::AAAA]
        .into_iter()
        .map(|record_type| {
            let (resolver, name) = (resolver.clone(), name.clone());
            let task = runtime.spawn(async move {
                tokio::time::timeout(TOTAL_TIMEOUT, resolver.lookup(name.as_str(), record_type))
                    .await
            });
            (record_type, task)
        })
        .collect();
    for (record_type, task) in lookups {
        match runtime.block_on(task) {
            Ok(Ok(Ok(answer))) => {
                for record in answer.answers() {
                    match &record.data {
                        RData::A(a) => view.a.push(IpAddr::V4(a.0)),
                        RData::AAAA(aaaa) => view.aaaa.push(IpAddr::V6(aaaa.0)),
                        _ => {}
                    }
                }
            }
            // "No such name" and "no record of this type" are answers.
            Ok(Ok(Err(error))) if error.is_nx_domain() || error.is_no_records_found() => {}
            Ok(Ok(Err(error))) => view.errors.push(format!("{record_type}: {error}")),
            Ok(Err(_)) => view.errors.push(format!(
                "{record_type}: no answer within {} s from {}",
                TOTAL_TIMEOUT.as_secs(),
                view.servers.join(", ")
            )),
            Err(error) => view
                .errors
                .push(format!("{record_type}: the query failed: {error}")),
        }
    }
    view
}

/// The nameserver given, or those of /etc/resolv.conf.
fn configuration(server: Option<SocketAddr>) -> Result<(ResolverConfig, ResolverOpts), String> {
    match server {
        Some(address) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = address.port();
            // UDP only: a server named for a test or a check answers there,
            // and a closed port then fails once instead of twice.
            let name_server = NameServerConfig::new(address.ip(), true, vec![udp]);
            Ok((
                ResolverConfig::from_name_servers(vec![name_server]),
                ResolverOpts::default(),
            ))
        }
        None => hickory_resolver::system_conf::read_system_conf()
            .map_err(|error| format!("reading /etc/resolv.conf: {error}")),
    }
}

/// Addresses DNS has that the system answer lacks, and system addresses DNS
/// does not have (which came from the hosts file or another source).
pub fn differences(view: &DnsView, system: &[IpAddr]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let dns: Vec<IpAddr> = view.a.iter().chain(view.aaaa.iter()).copied().collect();
    let hidden = dns
        .iter()
        .filter(|a| !system.contains(a))
        .copied()
        .collect();
    let extra = system
        .iter()
        .filter(|a| !dns.contains(a))
        .copied()
        .collect();
    (hidden, extra)
}
