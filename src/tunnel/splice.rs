//! Carrying bytes both ways between two sockets, with half-close: when one
//! side stops sending, the other side's write half is shut and the other
//! direction goes on until it ends too.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{CONNECT, CONNECTED};

/// Bytes read or written at once in each direction: large enough for a
/// socket's worth of data per system call.
const BUFFER: usize = 64 * 1024;

/// Copies `from` to `to` until `from` ends, then shuts `to`'s write half.
async fn pipe<R, W>(from: &mut R, to: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buffer = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        let read = from.read(&mut buffer).await?;
        if read == 0 {
            // The peer may already be gone; its half-close is then moot.
            let _ = to.shutdown().await;
            return Ok(total);
        }
        to.write_all(&buffer[..read]).await?;
        total += read as u64;
    }
}

/// The hub's end: tells the client which entry `port` the connection came
/// in on, then carries `inbound` over `data`. Bytes from `inbound` flow at
/// once (the client buffers them while it connects); the client's one-byte
/// answer says whether the host port accepted before any byte comes back;
/// when it refused, the error is [`io::ErrorKind::ConnectionRefused`] and
/// dropping `inbound` closes it.
pub(crate) async fn hub_side(
    mut inbound: TcpStream,
    mut data: TcpStream,
    port: u16,
) -> io::Result<()> {
    let [high, low] = port.to_be_bytes();
    data.write_all(&[CONNECT, high, low]).await?;
    let (mut inbound_read, mut inbound_write) = inbound.split();
    let (mut data_read, mut data_write) = data.split();
    let up = async {
        pipe(&mut inbound_read, &mut data_write).await?;
        Ok::<(), io::Error>(())
    };
    let down = async {
        let mut answer = [0u8; 1];
        if data_read.read(&mut answer).await? == 0 || answer[0] != CONNECTED {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the host port refused the connection",
            ));
        }
        pipe(&mut data_read, &mut inbound_write).await?;
        Ok(())
    };
    tokio::try_join!(up, down).map(drop)
}

/// The client's end, once the hub said [`CONNECT`] and `host` accepted:
/// confirms, then carries bytes both ways.
pub(crate) async fn client_side(mut data: TcpStream, mut host: TcpStream) -> io::Result<()> {
    data.write_all(&[CONNECTED]).await?;
    let (mut data_read, mut data_write) = data.split();
    let (mut host_read, mut host_write) = host.split();
    tokio::try_join!(
        pipe(&mut data_read, &mut host_write),
        pipe(&mut host_read, &mut data_write)
    )
    .map(drop)
}
