//! Raw TCP ports of a proxy.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{Outcome, TcpForward};
use crate::agent::faults::Draw;
use crate::agent::journal::{Call, Text};
use crate::agent::limits::Refusal;

impl TcpForward {
    /// Accepts connections forever, forwarding each to the target with
    /// limits (a connection is a request) and faults applied.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, remote) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(self.clone().connection(stream, remote));
        }
    }

    async fn connection(self: Arc<Self>, stream: TcpStream, remote: SocketAddr) {
        let started = Instant::now();
        let time = SystemTime::now();
        let caller = self.agent.callers.name(remote.ip());
        let mut outcome = Outcome {
            traceparent: Text::new(""),
            matched: None,
            limited: None,
            fault: None,
            upgrade: None,
            grpc_done: None,
        };
        let status = self.forward(stream, caller, &mut outcome).await;
        self.agent.journal.push(Call {
            time,
            dependency: Cow::Borrowed(self.dep.name),
            method: Method::from_bytes(b"TCP").unwrap_or(Method::CONNECT),
            path: Text::new(&format!(":{}", self.listen)),
            status,
            duration: started.elapsed(),
            matched: outcome.matched,
            traceparent: None,
            caller,
            limited: outcome.limited,
            fault: outcome.fault,
            upgrade: None,
            grpc_status: None,
        });
    }

    /// Returns the status journaled for the connection: 200 forwarded, 502
    /// target unreachable, 429/503 refused by limits, 0 dropped by a fault.
    async fn forward(
        &self,
        mut stream: TcpStream,
        caller: &'static str,
        outcome: &mut Outcome,
    ) -> u16 {
        let limits = self.dep.limits.load();
        let _permit = match limits.admit(caller, Instant::now()) {
            Ok(permit) => permit,
            Err(Refusal::Rate(_)) => {
                outcome.limited = Some("rate");
                return 429;
            }
            Err(Refusal::Concurrency) => {
                outcome.limited = Some("concurrency");
                return 503;
            }
        };
        drop(limits);
        // An error status has no meaning on a raw connection: only reset,
        // latency and bandwidth apply.
        let draw = Draw {
            error: None,
            ..self.dep.faults.load().draw()
        };
        outcome.fault = draw.label();
        if draw.reset {
            return 0;
        }
        let target = match TcpStream::connect((self.host.as_str(), self.port)).await {
            Ok(target) => target,
            Err(_) => return 502,
        };
        let _ = target.set_nodelay(true);
        outcome.matched = Some(self.label);
        match (draw.delay, draw.bandwidth) {
            (None, None) => {
                let mut target = target;
                let _ = tokio::io::copy_bidirectional(&mut stream, &mut target).await;
            }
            (Some(delay), rate) => {
                let (client_read, client_write) = stream.into_split();
                let (target_read, target_write) = target.into_split();
                let _ = tokio::join!(
                    copy_delayed(client_read, target_write, delay, rate),
                    copy_delayed(target_read, client_write, delay, rate)
                );
            }
            (None, Some(rate)) => {
                let (client_read, client_write) = stream.into_split();
                let (target_read, target_write) = target.into_split();
                let _ = tokio::join!(
                    copy_throttled(client_read, target_write, rate),
                    copy_throttled(target_read, client_write, rate)
                );
            }
        }
        200
    }
}

/// Copies `from` to `to` with every chunk held back `delay` after it was
/// read (toxiproxy's latency toxic): chunks read meanwhile keep flowing
/// behind it, so a pipelined exchange pays the delay once per round trip,
/// not once per chunk in a queue. At most `IN_FLIGHT` chunks wait.
pub(super) async fn copy_delayed<R, W>(
    mut from: R,
    mut to: W,
    delay: Duration,
    bytes_per_second: Option<u64>,
) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    const IN_FLIGHT: usize = 64;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(Instant, Bytes)>(IN_FLIGHT);
    let reading = async move {
        let mut buffer = BytesMut::with_capacity(16 * 1024);
        loop {
            buffer.reserve(16 * 1024);
            if from.read_buf(&mut buffer).await? == 0 {
                return Ok::<(), std::io::Error>(());
            }
            let chunk = buffer.split().freeze();
            if sender.send((Instant::now() + delay, chunk)).await.is_err() {
                return Ok(());
            }
        }
    };
    let writing = async move {
        while let Some((due, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(due.into()).await;
            to.write_all(&chunk).await?;
            if let Some(rate) = bytes_per_second {
                tokio::time::sleep(Duration::from_secs_f64(
                    chunk.len() as f64 / rate.max(1) as f64,
                ))
                .await;
            }
        }
        to.shutdown().await
    };
    let (read, written) = tokio::join!(reading, writing);
    read.and(written)
}

pub(super) async fn copy_throttled<R, W>(
    mut from: R,
    mut to: W,
    bytes_per_second: u64,
) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let rate = bytes_per_second.max(1);
    let mut buffer = vec![0u8; (rate / 20).clamp(1, 64 * 1024) as usize];
    loop {
        let read = from.read(&mut buffer).await?;
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
        tokio::time::sleep(Duration::from_secs_f64(read as f64 / rate as f64)).await;
    }
}
