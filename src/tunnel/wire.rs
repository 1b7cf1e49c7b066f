//! The tunnel's wire format (version 1), shared by the hub and the client.
//!
//! Every connection opens with [`MAGIC`] and one hello frame from the
//! client. A frame is a big-endian `u32` length and that many bytes of JSON
//! (at most [`MAX_FRAME`]). The control connection goes on in frames both
//! ways; a data connection carries no frames after its hello, only the
//! three-byte [`CONNECT`] header from the hub, the one-byte [`CONNECTED`]
//! answer from the client, and then raw bytes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Holder;

/// First bytes of every tunnel connection: the protocol and its version.
pub const MAGIC: &[u8; 4] = b"SBT1";
/// The largest frame either side sends or accepts.
pub const MAX_FRAME: usize = 64 * 1024;
/// Hub to client on a pooled data connection: "carry a connection of this
/// entry port", followed by the port as a big-endian `u16`.
pub const CONNECT: u8 = b'C';
/// Client to hub on a data connection, after [`CONNECT`]: the host port
/// accepted the connection; raw bytes follow. Anything else (or the
/// connection closing) means the host port refused.
pub const CONNECTED: u8 = 1;

/// The client's first frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Hello {
    /// Opens a session: the entry, the entry ports the client carries, and
    /// the process on the host (`None`: none runs yet).
    Control {
        token: Option<String>,
        entry: String,
        ports: Vec<u16>,
        holder: Option<Holder>,
    },
    /// A data connection for the pool of session `session`.
    Data {
        token: Option<String>,
        session: String,
    },
}

/// The hub's answer to a control hello.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Welcome {
    Accepted { session: String },
    Refused { reason: String },
}

/// Control frames from the client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToHub {
    /// The process on the host changed (`None`: no process runs now).
    Holder { holder: Option<Holder> },
    /// `count` data connections the hub asked for could not be opened.
    Lost { count: u32 },
    /// Liveness, every [`super::PING_EVERY`].
    Ping,
}

/// Control frames from the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToClient {
    /// Open `count` more data connections.
    More { count: u32 },
    /// Liveness, every [`super::PING_EVERY`].
    Ping,
    /// The session ends, and why.
    Bye { reason: ByeReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    /// A newer session of the same entry took over.
    Replaced,
    /// The agent is stopping (its container is going away).
    Stopping,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("a frame of {0} bytes is over the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("a frame is not understood: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the connection does not start with the tunnel protocol's greeting")]
    NotTunnel,
    /// Closed before sending a byte (a port probe, or a client giving up).
    #[error("the connection closed before its greeting")]
    Closed,
}

/// Writes one frame in a single write.
pub async fn write_frame<W, T>(writer: &mut W, value: &T) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let json = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + json.len());
    frame.extend_from_slice(&(json.len() as u32).to_be_bytes());
    frame.extend_from_slice(&json);
    writer.write_all(&frame).await
}

/// Writes the greeting and a hello in a single write.
pub async fn write_hello<W: AsyncWrite + Unpin>(
    writer: &mut W,
    hello: &Hello,
) -> std::io::Result<()> {
    let json = serde_json::to_vec(hello).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(8 + json.len());
    frame.extend_from_slice(MAGIC);
    frame.extend_from_slice(&(json.len() as u32).to_be_bytes());
    frame.extend_from_slice(&json);
    writer.write_all(&frame).await
}

/// Reads one frame; `None` when the peer closed the connection between
/// frames. Reads exactly the frame's bytes, never beyond (a data
/// connection's raw bytes follow its hello).
pub async fn read_frame<R, T>(reader: &mut R) -> Result<Option<T>, FrameError>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let mut length = [0u8; 4];
    let mut filled = 0;
    while filled < length.len() {
        let read = reader.read(&mut length[filled..]).await?;
        if read == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        filled += read;
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(FrameError::TooLarge(length));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    Ok(Some(serde_json::from_slice(&body)?))
}

/// Reads the greeting and the hello of a new connection.
pub async fn read_hello<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Hello, FrameError> {
    let mut magic = [0u8; 4];
    if reader.read(&mut magic[..1]).await? == 0 {
        return Err(FrameError::Closed);
    }
    reader.read_exact(&mut magic[1..]).await?;
    if &magic != MAGIC {
        return Err(FrameError::NotTunnel);
    }
    read_frame(reader).await?.ok_or(FrameError::NotTunnel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_stop_at_their_end() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let hello = Hello::Data {
            token: Some("t".into()),
            session: "s1".into(),
        };
        write_hello(&mut a, &hello).await.unwrap();
        a.write_all(b"raw").await.unwrap();
        let Hello::Data { token, session } = read_hello(&mut b).await.unwrap() else {
            panic!("a data hello")
        };
        assert_eq!((token.as_deref(), session.as_str()), (Some("t"), "s1"));
        let mut raw = [0u8; 3];
        b.read_exact(&mut raw).await.unwrap();
        assert_eq!(&raw, b"raw");
        write_frame(&mut a, &ToClient::More { count: 3 })
            .await
            .unwrap();
        drop(a);
        let more: Option<ToClient> = read_frame(&mut b).await.unwrap();
        assert!(matches!(more, Some(ToClient::More { count: 3 })));
        let end: Option<ToClient> = read_frame(&mut b).await.unwrap();
        assert!(end.is_none(), "a close between frames is the end");
    }

    #[tokio::test]
    async fn other_protocols_and_huge_frames_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert!(matches!(
            read_hello(&mut b).await,
            Err(FrameError::NotTunnel)
        ));
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let frame: Result<Option<ToHub>, _> = read_frame(&mut b).await;
        assert!(matches!(frame, Err(FrameError::TooLarge(_))));
    }

    #[test]
    fn control_frames_are_tagged_json() {
        let text = serde_json::to_string(&ToHub::Holder { holder: None }).unwrap();
        assert_eq!(text, r#"{"type":"holder","holder":null}"#);
        let text = serde_json::to_string(&ToClient::Bye {
            reason: ByeReason::Replaced,
        })
        .unwrap();
        assert_eq!(text, r#"{"type":"bye","reason":"replaced"}"#);
    }
}
