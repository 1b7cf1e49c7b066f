//! Connections carried over one byte stream: the forwarder of a remote
//! engine runs `sandbox agent --mux` once in the agent container (an exec)
//! and carries every connection to the sandbox's published ports over that
//! exec's stdin and stdout, instead of one exec per connection.
//!
//! Both directions are a sequence of frames: a stream id (u32), a kind
//! (u8), a length (u32), then that many bytes. The forwarder opens a stream
//! with [`Kind::Open`] (the payload is `HOST:PORT`), both sides send
//! [`Kind::Data`], [`Kind::Eof`] when their side of the connection stops
//! sending, and [`Kind::Close`] when the stream is over (or could not be
//! opened). Frames are written through a buffer that is flushed when no
//! other frame waits, so many small writes of many connections go out in
//! one write; received bytes are split into frames without being copied.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// What a frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Open = 1,
    Data = 2,
    Eof = 3,
    Close = 4,
}

impl Kind {
    fn from_u8(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Open,
            2 => Kind::Data,
            3 => Kind::Eof,
            4 => Kind::Close,
            _ => return None,
        })
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub id: u32,
    pub kind: Kind,
    pub payload: Bytes,
}

/// The size of one read of a connection, and so the largest data frame.
pub const CHUNK: usize = 64 * 1024;
/// Buffers of the multiplexed stream.
const BUFFER: usize = 256 * 1024;
/// The frames a stream may have waiting before its sender waits.
pub const STREAM_QUEUE: usize = 64;
const HEADER: usize = 9;
/// How many times a writer lets other tasks add frames before it writes.
const MAX_YIELDS: u32 = 4;

impl Frame {
    pub fn new(id: u32, kind: Kind, payload: impl Into<Bytes>) -> Frame {
        Frame {
            id,
            kind,
            payload: payload.into(),
        }
    }

    /// Appends the frame's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.push(self.kind as u8);
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
    }

    /// Takes one whole frame off the front of `buffer`, if it holds one,
    /// without copying its payload. A malformed frame is an error (the
    /// stream cannot be resynchronised).
    pub fn decode(buffer: &mut BytesMut) -> std::io::Result<Option<Frame>> {
        if buffer.len() < HEADER {
            return Ok(None);
        }
        let id = u32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
        let kind = Kind::from_u8(buffer[4]).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unknown frame kind {}", buffer[4]),
            )
        })?;
        let len = u32::from_be_bytes([buffer[5], buffer[6], buffer[7], buffer[8]]) as usize;
        if len > CHUNK * 4 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a frame of {len} bytes"),
            ));
        }
        if buffer.len() < HEADER + len {
            buffer.reserve(HEADER + len - buffer.len());
            return Ok(None);
        }
        buffer.advance(HEADER);
        let payload = buffer.split_to(len).freeze();
        Ok(Some(Frame { id, kind, payload }))
    }
}

/// Writes the frames of `frames` to `out` in as few writes as it can: the
/// frames that wait go out together, and before a write the task lets the
/// other ready connections add theirs (each write costs a system call on
/// every hop of the link, a yield costs none). Ends when every sender is
/// gone or `out` fails.
pub async fn write_frames<W: AsyncWrite + Unpin>(
    mut frames: mpsc::Receiver<Frame>,
    mut out: W,
) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(BUFFER);
    while let Some(frame) = frames.recv().await {
        bytes.clear();
        frame.encode(&mut bytes);
        // Yields again only while the last one brought more frames.
        let (mut yields, mut since_yield) = (0, 0);
        while bytes.len() < BUFFER {
            match frames.try_recv() {
                Ok(more) => {
                    more.encode(&mut bytes);
                    since_yield += 1;
                }
                Err(mpsc::error::TryRecvError::Empty)
                    if yields < MAX_YIELDS && (yields == 0 || since_yield > 0) =>
                {
                    yields += 1;
                    since_yield = 0;
                    tokio::task::yield_now().await;
                }
                Err(_) => break,
            }
        }
        out.write_all(&bytes).await?;
        out.flush().await?;
    }
    out.shutdown().await
}

/// What a stream's connection is told by the other side.
#[derive(Debug)]
pub enum Incoming {
    Data(Bytes),
    Eof,
}

/// The streams one side has open: where to deliver their frames.
pub type Streams = Arc<Mutex<HashMap<u32, mpsc::Sender<Incoming>>>>;

/// Delivers a received frame to its stream (Open frames are the caller's).
/// Returns false when the stream is gone.
pub async fn deliver(streams: &Streams, frame: Frame) -> bool {
    let sender = streams
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&frame.id)
        .cloned();
    let Some(sender) = sender else {
        return false;
    };
    let message = match frame.kind {
        Kind::Data => Incoming::Data(frame.payload),
        Kind::Eof => Incoming::Eof,
        Kind::Close | Kind::Open => {
            streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&frame.id);
            return true;
        }
    };
    sender.send(message).await.is_ok()
}

/// Carries one connection as stream `id`: its bytes go out as frames on
/// `out`, what `incoming` delivers is written to it. Sends `Close` when
/// both directions are done.
pub async fn carry<S>(
    id: u32,
    connection: S,
    mut incoming: mpsc::Receiver<Incoming>,
    out: mpsc::Sender<Frame>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut read, mut write) = tokio::io::split(connection);
    let sending = async {
        let mut buffer = BytesMut::new();
        loop {
            if buffer.capacity() < CHUNK / 4 {
                buffer.reserve(CHUNK);
            }
            let room = buffer.capacity().min(CHUNK);
            match (&mut read).take(room as u64).read_buf(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let frame = Frame::new(id, Kind::Data, buffer.split().freeze());
                    if out.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = out.send(Frame::new(id, Kind::Eof, Bytes::new())).await;
    };
    let receiving = async {
        while let Some(message) = incoming.recv().await {
            match message {
                Incoming::Data(bytes) => {
                    if write.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                Incoming::Eof => break,
            }
        }
        let _ = write.shutdown().await;
    };
    tokio::join!(sending, receiving);
    let _ = out.send(Frame::new(id, Kind::Close, Bytes::new())).await;
}

/// The agent's side over this process's stdin and stdout. An exec's stdio
/// are pipes: they are read and written without blocking, on the runtime's
/// own threads (tokio's `stdin()` and `stdout()` hand every read and write
/// to a blocking thread, two thread switches per frame batch). Anything
/// else (a terminal, a file) falls back to those.
pub async fn serve_stdio() -> std::io::Result<()> {
    use tokio::net::unix::pipe;
    let input = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let output = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    match (
        pipe::Receiver::from_file(input),
        pipe::Sender::from_file(output),
    ) {
        (Ok(input), Ok(output)) => serve(input, output).await,
        _ => serve(tokio::io::stdin(), tokio::io::stdout()).await,
    }
}

/// The agent's side (`sandbox agent --mux`): reads frames from `input`,
/// opens a TCP connection for each `Open`, writes frames to `output`. Ends
/// when `input` ends.
pub async fn serve<R, W>(mut input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out, frames) = mpsc::channel::<Frame>(1024);
    let writer = tokio::spawn(write_frames(frames, output));
    let streams: Streams = Arc::default();
    let mut buffer = BytesMut::with_capacity(BUFFER);
    loop {
        if buffer.capacity() - buffer.len() < BUFFER / 4 {
            buffer.reserve(BUFFER);
        }
        if input.read_buf(&mut buffer).await? == 0 {
            break;
        }
        while let Some(frame) = Frame::decode(&mut buffer)? {
            if frame.kind != Kind::Open {
                deliver(&streams, frame).await;
                continue;
            }
            let (sender, incoming) = mpsc::channel(STREAM_QUEUE);
            streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(frame.id, sender);
            let address = String::from_utf8_lossy(&frame.payload).into_owned();
            let sink = out.clone();
            let streams = streams.clone();
            tokio::spawn(async move {
                let out = sink;
                match tokio::net::TcpStream::connect(&address).await {
                    Ok(connection) => {
                        let _ = connection.set_nodelay(true);
                        carry(frame.id, connection, incoming, out).await;
                    }
                    Err(_) => {
                        let _ = out
                            .send(Frame::new(frame.id, Kind::Close, Bytes::new()))
                            .await;
                    }
                }
                streams
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&frame.id);
            });
        }
    }
    drop(out);
    let _ = writer.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_wait_for_their_bytes() {
        let mut bytes = Vec::new();
        Frame::new(7, Kind::Open, b"orders:8080".to_vec()).encode(&mut bytes);
        Frame::new(7, Kind::Data, vec![1, 2, 3]).encode(&mut bytes);
        let mut partial = BytesMut::from(&bytes[..bytes.len() - 1]);
        let first = Frame::decode(&mut partial).unwrap().unwrap();
        assert_eq!(&first.payload[..], b"orders:8080");
        assert_eq!(Frame::decode(&mut partial).unwrap(), None);
        partial.extend_from_slice(&[3]);
        assert_eq!(
            Frame::decode(&mut partial).unwrap(),
            Some(Frame::new(7, Kind::Data, vec![1, 2, 3]))
        );
        let mut bad = BytesMut::from(&[0u8, 0, 0, 1, 9, 0, 0, 0, 0][..]);
        assert!(Frame::decode(&mut bad).is_err());
    }

    #[tokio::test]
    async fn the_agent_side_carries_connections_to_their_addresses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = c.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (their_read, their_write) = tokio::io::split(theirs);
        tokio::spawn(serve(their_read, their_write));
        let (mut read, mut write) = tokio::io::split(ours);
        let mut bytes = Vec::new();
        for id in [1, 2] {
            Frame::new(id, Kind::Open, address.clone().into_bytes()).encode(&mut bytes);
            Frame::new(id, Kind::Data, format!("hello {id}").into_bytes()).encode(&mut bytes);
            Frame::new(id, Kind::Eof, Vec::new()).encode(&mut bytes);
        }
        write.write_all(&bytes).await.unwrap();
        let mut echoed: HashMap<u32, Vec<u8>> = HashMap::new();
        let mut closed = 0;
        let mut buffer = BytesMut::new();
        let mut chunk = vec![0u8; 4096];
        while closed < 2 {
            let n = read.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the stream ended early");
            buffer.extend_from_slice(&chunk[..n]);
            while let Some(frame) = Frame::decode(&mut buffer).unwrap() {
                match frame.kind {
                    Kind::Data => echoed.entry(frame.id).or_default().extend(frame.payload),
                    Kind::Close => closed += 1,
                    _ => {}
                }
            }
        }
        assert_eq!(echoed[&1], b"hello 1");
        assert_eq!(echoed[&2], b"hello 2");
    }
}
