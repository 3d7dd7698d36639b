//! The connection loop: accepts TCP connections (at most `MAX_CONNECTIONS` at once), reads a
//! PROXY protocol header from trusted balancers, serves HTTP/1.1 on each with a header read
//! timeout and an idle timeout, and shuts down gracefully.
//!
//! It replaces `axum::serve`, which has no timeouts: a client dribbling a header line every few
//! seconds, or an idle keep-alive connection, held a connection (and a file descriptor)
//! forever.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

use crate::config::{Config, in_nets};

/// Where a connection came from: its TCP peer, and the client a trusted balancer named in a
/// PROXY protocol header. Put in every request's extensions, for [`super::extract::ClientIp`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    pub peer: SocketAddr,
    pub proxied_client: Option<IpAddr>,
}

/// The limits of the connection loop.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the connections finish
/// the requests they are serving (idle ones are closed at once).
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let limits = Arc::new(limits);
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's own header timer also runs while a keep-alive connection waits for its next
    // request, which would make it the idle timeout too: the watchdog below keeps the two apart.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: further clients wait in the kernel's backlog.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore stays open"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let limits = limits.clone();
        let app = app.clone();
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut stream = stream;
            let proxied_client = if in_nets(&limits.trusted_proxies, peer.ip()) {
                match tokio::time::timeout(
                    limits.header_read_timeout,
                    read_proxy_header(&mut stream),
                )
                .await
                {
                    Ok(Ok(client)) => client,
                    Ok(Err(err)) => {
                        tracing::debug!(%peer, error = %err, "bad PROXY protocol header");
                        return;
                    }
                    Err(_) => return,
                }
            } else {
                None
            };
            let info = ConnectionInfo {
                peer,
                proxied_client,
            };
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(Tracked {
                inner: stream,
                activity: activity.clone(),
            });
            let service_activity = activity.clone();
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(info);
                    let request = request.map(axum::body::Body::new);
                    let app = app.clone();
                    let activity = service_activity.clone();
                    activity.in_flight.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let response = app.oneshot(request).await;
                        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
                        activity.wait_for_next_request();
                        response
                    }
                });
            let connection = builder.serve_connection(io, service);
            tokio::pin!(connection);
            let tick = limits.idle_timeout.min(limits.header_read_timeout) / 4;
            loop {
                tokio::select! {
                    result = &mut connection => {
                        if let Err(err) = result {
                            tracing::debug!(%peer, error = %err, "connection ended with an error");
                        }
                        break;
                    }
                    _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                        // Finishes the request being answered, then closes.
                        connection.as_mut().graceful_shutdown();
                        let _ = (&mut connection).await;
                        break;
                    }
                    _ = tokio::time::sleep(tick) => match activity.overdue(&limits) {
                        None => {}
                        Some(Overdue::Idle) => {
                            connection.as_mut().graceful_shutdown();
                            // A client that never reads what is left of an answer does
                            // not hold the connection past one more idle period.
                            let _ = tokio::time::timeout(limits.idle_timeout, &mut connection).await;
                            break;
                        }
                        // Dropping the connection closes it, mid-request as it is.
                        Some(Overdue::HeadersTooSlow) => break,
                    },
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it has closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// Where a connection stands between requests: since when it waits for the next one, whether
/// a byte of it has arrived (and when), and how many requests are being answered.
struct Activity {
    started: Instant,
    /// Milliseconds since `started` when the connection began waiting for a request.
    waiting_since: AtomicU64,
    /// Milliseconds since `started` of the first byte of the next request, plus one (0: none).
    first_byte: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            waiting_since: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Bytes arrived: the first ones start the header timer.
    fn read_some(&self) {
        let now = self.millis() + 1;
        let _ = self
            .first_byte
            .compare_exchange(0, now, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// A response is done: the connection waits for its next request.
    fn wait_for_next_request(&self) {
        self.waiting_since.store(self.millis(), Ordering::SeqCst);
        self.first_byte.store(0, Ordering::SeqCst);
    }

    /// Whether the connection should be closed: no request is being answered, and either no
    /// byte came for `idle_timeout`, or a request's headers have been arriving for longer than
    /// `header_read_timeout`.
    fn overdue(&self, limits: &Limits) -> Option<Overdue> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let now = self.millis();
        let elapsed = |since: u64| Duration::from_millis(now.saturating_sub(since));
        match self.first_byte.load(Ordering::SeqCst) {
            0 => (elapsed(self.waiting_since.load(Ordering::SeqCst)) >= limits.idle_timeout)
                .then_some(Overdue::Idle),
            first => (elapsed(first - 1) >= limits.header_read_timeout)
                .then_some(Overdue::HeadersTooSlow),
        }
    }
}

/// Why a connection is closed.
enum Overdue {
    /// It waited for its next request too long.
    Idle,
    /// A request's headers took too long to arrive.
    HeadersTooSlow,
}

/// A connection's stream, noting each read and write in its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The signature that starts a PROXY protocol version 2 header.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Reads a PROXY protocol header (version 1 or 2) if the connection starts with one, and
/// returns the client it names (`None` for `PROXY UNKNOWN`, a `LOCAL` command, or no header:
/// a trusted peer may also speak plain HTTP).
async fn read_proxy_header(stream: &mut TcpStream) -> std::io::Result<Option<IpAddr>> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut peeked = [0u8; 232];
    loop {
        let n = stream.peek(&mut peeked).await?;
        if n == 0 {
            return Err(invalid("closed before any data"));
        }
        let head = &peeked[..n];
        if head.starts_with(b"PROXY ") {
            // Version 1: one text line of at most 107 bytes.
            let Some(end) = head.windows(2).position(|w| w == b"\r\n") else {
                if n >= 107 {
                    return Err(invalid("PROXY v1 line too long"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let mut line = vec![0u8; end + 2];
            stream.read_exact(&mut line).await?;
            let text = std::str::from_utf8(&line[..end]).map_err(|_| invalid("not text"))?;
            let fields: Vec<&str> = text.split(' ').collect();
            return match fields.as_slice() {
                ["PROXY", "UNKNOWN", ..] => Ok(None),
                [
                    "PROXY",
                    "TCP4" | "TCP6",
                    source,
                    _destination,
                    _sport,
                    _dport,
                ] => source
                    .parse()
                    .map(Some)
                    .map_err(|_| invalid("bad PROXY v1 address")),
                _ => Err(invalid("bad PROXY v1 line")),
            };
        }
        if head.len() >= V2_SIGNATURE.len() && head[..12] == V2_SIGNATURE {
            if n < 16 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            let length = u16::from_be_bytes([head[14], head[15]]) as usize;
            let mut header = vec![0u8; 16 + length];
            stream.read_exact(&mut header).await?;
            let command = header[12] & 0x0f;
            let family = header[13] >> 4;
            let address = &header[16..];
            return Ok(match (command, family) {
                // LOCAL: the balancer's own health check.
                (0, _) => None,
                (1, 1) if address.len() >= 12 => Some(IpAddr::from(
                    <[u8; 4]>::try_from(&address[..4]).expect("four bytes"),
                )),
                (1, 2) if address.len() >= 36 => Some(IpAddr::from(
                    <[u8; 16]>::try_from(&address[..16]).expect("sixteen bytes"),
                )),
                (1, _) => None,
                _ => return Err(invalid("bad PROXY v2 command")),
            });
        }
        // A prefix of either signature may still become one; anything else is plain HTTP.
        let could_be_v1 = b"PROXY ".starts_with(&head[..head.len().min(6)]);
        let could_be_v2 = V2_SIGNATURE.starts_with(&head[..head.len().min(12)]);
        if !(could_be_v1 || could_be_v2) {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
