//! Upgraded connections (WebSocket and any other `Upgrade`) on record and
//! proxy ports: once the upstream answers 101, the bytes are copied both
//! ways and WebSocket frames counted, for one journal entry.

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::agent::journal::Upgrade;

/// Whether the request asks to switch protocols to something other than
/// h2c (which the port answers itself).
pub(super) fn requested(headers: &http::HeaderMap) -> Option<http::HeaderValue> {
    let upgrade = headers.get(http::header::UPGRADE)?;
    let asks = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    (asks && !upgrade.as_bytes().eq_ignore_ascii_case(b"h2c")).then(|| upgrade.clone())
}

/// Copies between the caller's and the upstream's upgraded connections
/// until both sides are done; what went through.
pub(super) async fn splice(client: OnUpgrade, upstream: OnUpgrade) -> Upgrade {
    let (Ok(client), Ok(upstream)) = (client.await, upstream.await) else {
        return Upgrade::default();
    };
    let (client_read, client_write) = tokio::io::split(TokioIo::<Upgraded>::new(client));
    let (upstream_read, upstream_write) = tokio::io::split(TokioIo::<Upgraded>::new(upstream));
    let ((frames_sent, bytes_sent), (frames_received, bytes_received)) = tokio::join!(
        copy_counting(client_read, upstream_write),
        copy_counting(upstream_read, client_write)
    );
    Upgrade {
        frames_sent,
        frames_received,
        bytes_sent,
        bytes_received,
    }
}

/// Copies until end of stream or an error: (WebSocket frames, bytes).
async fn copy_counting<R, W>(mut from: R, mut to: W) -> (u64, u64)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = Frames::default();
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        frames.feed(&buffer[..read]);
        bytes += read as u64;
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    (frames.count, bytes)
}

/// Counts WebSocket frames (RFC 6455 section 5.2) in a byte stream by
/// reading each frame's header and skipping its payload.
#[derive(Debug, Default)]
struct Frames {
    count: u64,
    /// The header read so far of the frame being read.
    header: Vec<u8>,
    /// Payload bytes left to skip.
    skip: u64,
}

impl Frames {
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.skip > 0 {
                let taken = self.skip.min(data.len() as u64);
                self.skip -= taken;
                data = &data[taken as usize..];
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            if let Some(payload) = header_done(&self.header) {
                self.count += 1;
                self.skip = payload;
                self.header.clear();
            }
        }
    }
}

/// The payload length once `header` is a whole frame header.
fn header_done(header: &[u8]) -> Option<u64> {
    if header.len() < 2 {
        return None;
    }
    let masked = header[1] & 0x80 != 0;
    let (extra, length): (usize, Option<u64>) = match header[1] & 0x7f {
        126 => (2, None),
        127 => (8, None),
        short => (0, Some(u64::from(short))),
    };
    let total = 2 + extra + if masked { 4 } else { 0 };
    if header.len() < total {
        return None;
    }
    Some(length.unwrap_or_else(|| {
        header[2..2 + extra]
            .iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_counted_across_reads() {
        let mut frames = Frames::default();
        // A masked 5-byte text frame, an unmasked 300-byte binary frame.
        let mut stream = vec![0x81, 0x85, 1, 2, 3, 4, b'h', b'e', b'l', b'l', b'o'];
        stream.extend([0x82, 126, 0x01, 0x2c]);
        stream.extend([0u8; 300]);
        for chunk in stream.chunks(3) {
            frames.feed(chunk);
        }
        assert_eq!(frames.count, 2);
        assert_eq!(frames.skip, 0);
        assert!(frames.header.is_empty());
    }
}
