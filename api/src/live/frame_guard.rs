//! Refuses oversized websocket messages from the frame headers, before their payload is
//! buffered. actix-ws reads everything the socket has into one buffer before it decodes a
//! frame, so its own size limit only bites once the frame is all there: a client announcing
//! a 1 GiB frame could make the server buffer it. The guard sits between the connection's
//! byte stream and actix-ws, follows the frame boundaries (client frames are always masked,
//! RFC 6455 §5.2), and ends the stream with an error as soon as a frame's announced length,
//! or a fragmented message's running total, passes the limit. The session then closes with
//! 1009 (message too big).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;

/// Where the parser is in the byte stream.
#[derive(Debug, Default)]
struct Framing {
    /// Header bytes of the frame being read (at most 14).
    header: Vec<u8>,
    /// Payload bytes (mask key included) still to pass before the next header.
    remaining: u64,
    /// The data message being assembled from fragments, in bytes so far.
    message: u64,
}

/// What a header says, once complete.
enum Header {
    /// More bytes are needed.
    Partial,
    /// A frame: its payload length (plus the mask key) and whether it carries data.
    Frame {
        /// Bytes after the header: the mask key and the payload.
        body: u64,
        /// The payload length as announced.
        payload: u64,
        /// Text, binary or continuation (not a control frame).
        data: bool,
        /// The last frame of its message.
        fin: bool,
    },
}

fn parse(header: &[u8]) -> Header {
    if header.len() < 2 {
        return Header::Partial;
    }
    let fin = header[0] & 0x80 != 0;
    let opcode = header[0] & 0x0f;
    let masked = header[1] & 0x80 != 0;
    let (payload, length_bytes) = match header[1] & 0x7f {
        126 => (None, 2),
        127 => (None, 8),
        n => (Some(u64::from(n)), 0),
    };
    let needed = 2 + length_bytes;
    if header.len() < needed {
        return Header::Partial;
    }
    let payload = payload.unwrap_or_else(|| {
        header[2..needed]
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b))
    });
    Header::Frame {
        body: payload.saturating_add(if masked { 4 } else { 0 }),
        payload,
        data: opcode < 0x8,
        fin,
    }
}

impl Framing {
    /// Follows `bytes`; `Err` once a frame or message passes `limit`.
    fn follow(&mut self, mut bytes: &[u8], limit: u64) -> Result<(), ()> {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(bytes.len() as u64);
                self.remaining -= skip;
                bytes = &bytes[skip as usize..];
                continue;
            }
            // A header, byte by byte until it is whole (it may span chunks).
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if let Header::Frame {
                body,
                payload,
                data,
                fin,
            } = parse(&self.header)
            {
                self.header.clear();
                if data {
                    self.message = self.message.saturating_add(payload);
                    if payload > limit || self.message > limit {
                        return Err(());
                    }
                    if fin {
                        self.message = 0;
                    }
                } else if payload > 125 {
                    // Control frames carry at most 125 bytes (RFC 6455 §5.5).
                    return Err(());
                }
                self.remaining = body;
            }
        }
        Ok(())
    }
}

/// The connection's bytes, cut off at the first oversized frame or message.
pub struct FrameGuard<S> {
    inner: S,
    framing: Framing,
    limit: u64,
    tripped: Arc<AtomicBool>,
    done: bool,
}

impl<S> FrameGuard<S> {
    /// Guards `inner`, allowing messages of at most `limit` bytes; `tripped` turns true when
    /// the guard cuts the stream (so the session can close with 1009).
    pub fn new(inner: S, limit: usize, tripped: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            framing: Framing::default(),
            limit: limit as u64,
            tripped,
            done: false,
        }
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if this.framing.follow(&bytes, this.limit).is_err() {
                    this.done = true;
                    this.tripped.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header announcing `len` bytes.
    fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut h = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=65_535 => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]); // the mask key
        h
    }

    fn frame(fin: bool, opcode: u8, payload: usize) -> Vec<u8> {
        let mut f = header(fin, opcode, payload as u64);
        f.resize(f.len() + payload, b'x');
        f
    }

    #[test]
    fn frames_within_the_limit_pass_whatever_the_chunking() {
        let mut bytes = frame(true, 1, 100);
        bytes.extend(frame(true, 1, 1000));
        bytes.extend(frame(true, 9, 4)); // a ping
        bytes.extend(frame(true, 1, 70_000));
        for chunk in [1, 3, 7, 4096, bytes.len()] {
            let mut framing = Framing::default();
            for part in bytes.chunks(chunk) {
                framing.follow(part, 70_000).unwrap();
            }
            assert_eq!(framing.remaining, 0);
            assert!(framing.header.is_empty());
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header_alone() {
        let mut framing = Framing::default();
        // A 1 GiB frame announced: refused before any of its payload.
        assert!(framing.follow(&header(true, 2, 1 << 30), 65_536).is_err());
        let mut framing = Framing::default();
        assert!(framing.follow(&header(true, 1, 65_537), 65_536).is_err());
    }

    #[test]
    fn a_fragmented_message_counts_as_a_whole() {
        let mut framing = Framing::default();
        framing.follow(&frame(false, 1, 40_000), 65_536).unwrap();
        // A control frame between fragments does not reset the count.
        framing.follow(&frame(true, 9, 0), 65_536).unwrap();
        assert!(framing.follow(&frame(false, 0, 40_000), 65_536).is_err());
        // After a final fragment, the next message starts from zero.
        let mut framing = Framing::default();
        framing.follow(&frame(false, 1, 40_000), 65_536).unwrap();
        framing.follow(&frame(true, 0, 20_000), 65_536).unwrap();
        framing.follow(&frame(true, 1, 60_000), 65_536).unwrap();
    }

    #[test]
    fn control_frames_over_125_bytes_are_refused() {
        let mut framing = Framing::default();
        assert!(framing.follow(&header(true, 9, 126), 65_536).is_err());
    }
}
