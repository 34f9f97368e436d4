//! The body's way from the reader to the sink when it is coded: the
//! content codings (`--compressed`) and the transfer codings besides
//! chunked (`--tr-encoding`) are undone here, between the body ranges the
//! [`Reader`](crate::response::reader::Reader) yields and the metered sink,
//! through one bounded buffer, so memory stays flat whatever the body
//! decodes to. The sink counts decoded bytes; the hop records the chain
//! and the encoded bytes. `--max-filesize` is checked here against the
//! promised length, and by the sink against every byte written.

use crate::error::{Error, ErrorKind, Result};
use crate::response::coding::{self, Decoding};
use crate::response::framing::Framing;
use crate::response::head::Head;

use super::Fetch;

impl Fetch<'_> {
    /// The final head's codings, when the plan undoes them: the decoders
    /// for the body. Transfer codings were applied after the content
    /// codings (RFC 9110 section 8.4.1), so they come last in the chain.
    pub(super) fn begin_decoding(&mut self, head: &Head, framing: Framing) -> Result<()> {
        self.decoding = None;
        let plan = &self.opts.bodies;
        if framing == Framing::None || !(plan.content || plan.transfer) {
            return Ok(());
        }
        let mut chain = Vec::new();
        if plan.content {
            chain = coding::chain(head, "Content-Encoding")?;
        }
        if plan.transfer {
            chain.extend(coding::chain(head, "Transfer-Encoding")?);
        }
        if chain.is_empty() {
            return Ok(());
        }
        let decoding = Decoding::new(&chain)?;
        self.trace
            .step(|| format!("decoding the body: {}", decoding.describe()));
        self.hop().coding = Some(decoding.describe());
        self.hop().wire_bytes = Some(0);
        self.decoding = Some(decoding);
        Ok(())
    }

    /// `--max-filesize` against what the head promises: nothing is written
    /// when Content-Length is already too large.
    pub(super) fn check_promised(&self, promised: Option<u64>) -> Result<()> {
        match (self.opts.bodies.max_filesize, promised) {
            (Some(max), Some(n)) if n > max => Err(Error::new(
                ErrorKind::FileTooLarge,
                format!(
                    "the body is larger than --max-filesize ({max} bytes): Content-Length: {n}"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Writes the body pieces `self.ranges` of `buf`: as they are, or
    /// through the decoders.
    pub(super) fn write_body(&mut self, buf: &[u8]) -> Result<()> {
        let Some(decoding) = &mut self.decoding else {
            return self.sink.write_ranges(buf, &self.ranges);
        };
        for r in &self.ranges {
            let mut input = &buf[r.clone()];
            loop {
                // Decoded straight into the output's buffer (no copy).
                let mut used = 0;
                let made = self.sink.write_made(&mut self.decoded, |out| {
                    let (u, m) = decoding.decode(input, out)?;
                    used = u;
                    Ok(m)
                })?;
                input = &input[used..];
                if used == 0 && made == 0 {
                    break;
                }
            }
            if !input.is_empty() {
                // Each decoder takes all its input while it has room to
                // write; one that stops is a bug, not a body to guess at.
                return Err(Error::new(
                    ErrorKind::BadContentEncoding,
                    format!(
                        "cannot decode the body: the {} decoder stopped",
                        decoding.describe()
                    ),
                ));
            }
        }
        let fed = decoding.fed();
        self.hop().wire_bytes = Some(fed);
        Ok(())
    }

    /// The body ended: what the decoders still hold is written, and every
    /// coded stream must have ended with it (else exit 61).
    pub(super) fn end_decoding(&mut self) -> Result<()> {
        let Some(decoding) = &mut self.decoding else {
            return Ok(());
        };
        loop {
            let made = self
                .sink
                .write_made(&mut self.decoded, |out| Ok(decoding.decode(&[], out)?.1))?;
            if made == 0 {
                break;
            }
        }
        decoding.finish()?;
        Ok(())
    }
}
