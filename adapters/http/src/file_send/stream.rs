//! [`FileSendStream`]: a TCP socket that splices queued files into what the HTTP encoder writes.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use actix_web::rt::net::TcpStream;
use memchr::memmem;
use rustix::event::{PollFd, PollFlags, Timespec};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::task::JoinHandle;

use super::{Job, Sender};

/// Most bytes one trip to the blocking pool sends.
const RUN: usize = 64 * 1024 * 1024;
/// A `poll(2)` that only looks.
const NO_WAIT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 0,
};
/// How long a run waits for room in a full socket before handing the download back.
const ROOM_WAIT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 20_000_000,
};

/// What one run did.
enum Sent {
    /// Bytes sent (the run stops early when the socket is full).
    Bytes(usize),
    /// The socket was full before anything was sent.
    WouldBlock,
    /// The file ended before the region did.
    Eof,
}

/// Where the writer is.
enum State {
    /// Passing bytes through; while files are queued, looking for the first one's marker.
    Pass,
    /// `left` bytes of a head remain to be written before `job`'s file.
    Head { left: usize, job: Job },
    /// Sending `job`'s file; `run` is the copy in flight on the blocking pool.
    File {
        job: Job,
        socket: Arc<OwnedFd>,
        run: Option<JoinHandle<(io::Result<Sent>, Vec<u8>)>>,
        /// The copy buffer, between runs.
        buf: Vec<u8>,
    },
}

/// A plain TCP connection of the HTTP server, able to send files queued by its handlers.
pub struct FileSendStream {
    tcp: TcpStream,
    sender: Sender,
    state: State,
}

impl FileSendStream {
    /// Wraps an accepted connection.
    pub fn new(tcp: TcpStream) -> Self {
        Self {
            tcp,
            sender: Sender::new(),
            state: State::Pass,
        }
    }

    /// The connection's file queue, for handlers (inserted as connection data).
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Drives the file being sent to its end; ready at once when none is.
    fn poll_file(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let State::File {
                job,
                socket,
                run,
                buf,
            } = &mut self.state
            else {
                return Poll::Ready(Ok(()));
            };
            if let Some(task) = run {
                let (sent, back) = ready!(Pin::new(task).poll(cx)).map_err(io::Error::other)?;
                *run = None;
                *buf = back;
                match sent? {
                    Sent::Bytes(n) => {
                        job.offset += n as u64;
                        job.len -= n as u64;
                    }
                    Sent::WouldBlock => {}
                    Sent::Eof => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shrank while sent",
                        )));
                    }
                }
                continue;
            }
            if job.len == 0 {
                job.finish();
                self.state = State::Pass;
                return Poll::Ready(Ok(()));
            }
            ready!(poll_room(&self.tcp, cx))?;
            let (socket, file) = (Arc::clone(socket), Arc::clone(&job.file));
            let (offset, want) = (job.offset, usize::try_from(job.len).unwrap_or(RUN).min(RUN));
            let mut taken = std::mem::take(buf);
            *run = Some(tokio::task::spawn_blocking(move || {
                let sent = copy_run(&socket, &file, offset, want, &mut taken);
                (sent, taken)
            }));
        }
    }

    /// Writes from `buf` in the [`State::Pass`] state.
    fn poll_pass(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let found = {
            let queue = self.sender.queue.borrow();
            queue
                .jobs
                .front()
                .and_then(|job| memmem::find(buf, &job.marker).map(|at| (at, job.marker.len())))
        };
        match found {
            None => Pin::new(&mut self.tcp).poll_write(cx, buf),
            Some((at, _)) if at > 0 => Pin::new(&mut self.tcp).poll_write(cx, &buf[..at]),
            Some((_, marker_len)) => {
                let rest = &buf[marker_len..];
                let left = if rest.starts_with(b"\r\n") {
                    2
                } else {
                    memmem::find(rest, b"\r\n\r\n")
                        .ok_or_else(|| io::Error::other("a response head was cut before its end"))?
                        + 4
                };
                let job = self.sender.queue.borrow_mut().jobs.pop_front();
                if let Some(job) = job {
                    self.state = State::Head { left, job };
                }
                // The marker line is consumed without being sent.
                Poll::Ready(Ok(marker_len))
            }
        }
    }
}

/// Ready when the socket has room for more bytes.
///
/// The runs write off tokio's reactor, so tokio never sees their `EAGAIN`: its readiness flag may
/// say "writable" for a socket that is full. The flag is therefore confirmed with a zero-timeout
/// `poll(2)` inside `try_io`; when the socket is full, tokio clears the flag only if no newer
/// "writable" event has arrived since it was read, so a wake-up cannot be lost.
fn poll_room(tcp: &TcpStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    loop {
        ready!(tcp.poll_write_ready(cx))?;
        let confirmed = tcp.try_io(Interest::WRITABLE, || {
            let mut fds = [PollFd::new(tcp, PollFlags::OUT)];
            rustix::event::poll(&mut fds, Some(&NO_WAIT))?;
            if fds[0].revents().is_empty() {
                Err(io::Error::from(io::ErrorKind::WouldBlock))
            } else {
                // Writable, or an error/hang-up that the next write reports.
                Ok(())
            }
        });
        match confirmed {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// Bytes of the copy buffer: large writes are what make loopback and NIC sends cheap (1 MiB
/// measured best here: 256 KiB costs 25 % more CPU per byte, 4 MiB is no better).
const COPY_BUF: usize = 1024 * 1024;

/// One blocking run: up to `want` bytes of `file` from `offset`, read with `pread` into `buf`
/// and written to the socket. When the socket is full the run waits for room with `poll(2)`, up
/// to [`ROOM_WAIT`]: a client that reads as fast as we send keeps one thread busy for the whole
/// run (no trip back to the reactor per socket buffer), while one that stalls hands the download
/// back to the reactor and holds no thread. Bytes read but not written when the client stalls
/// are read again by the next run.
fn copy_run(
    socket: &OwnedFd,
    file: &File,
    offset: u64,
    want: usize,
    buf: &mut Vec<u8>,
) -> io::Result<Sent> {
    use std::os::unix::fs::FileExt;
    if buf.len() < COPY_BUF {
        *buf = vec![0; COPY_BUF];
    }
    let mut sent = 0;
    while sent < want {
        let n = (want - sent).min(buf.len());
        let got = file.read_at(&mut buf[..n], offset + sent as u64)?;
        if got == 0 {
            return Ok(if sent == 0 {
                Sent::Eof
            } else {
                Sent::Bytes(sent)
            });
        }
        let mut written = 0;
        while written < got {
            match rustix::io::write(socket, &buf[written..got]) {
                Ok(k) => written += k,
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    let mut fds = [PollFd::new(socket, PollFlags::OUT)];
                    match rustix::event::poll(&mut fds, Some(&ROOM_WAIT)) {
                        Ok(0) => {
                            let done = sent + written;
                            return Ok(if done == 0 {
                                Sent::WouldBlock
                            } else {
                                Sent::Bytes(done)
                            });
                        }
                        Ok(_) | Err(rustix::io::Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        sent += got;
    }
    Ok(Sent::Bytes(sent))
}

impl AsyncRead for FileSendStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for FileSendStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::File { .. } => ready!(this.poll_file(cx))?,
                State::Head { left, .. } => {
                    let take = (*left).min(buf.len());
                    let n = ready!(Pin::new(&mut this.tcp).poll_write(cx, &buf[..take]))?;
                    *left -= n;
                    if *left == 0
                        && let State::Head { job, .. } =
                            std::mem::replace(&mut this.state, State::Pass)
                    {
                        let socket = Arc::new(this.tcp.as_fd().try_clone_to_owned()?);
                        this.state = State::File {
                            job,
                            socket,
                            run: None,
                            buf: Vec::new(),
                        };
                    }
                    return Poll::Ready(Ok(n));
                }
                State::Pass => return this.poll_pass(cx, buf),
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_file(cx))?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_file(cx))?;
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
