//! `-r` and `-C` at the final head: whether the response honours the
//! range or the resume (the rules are `src/response/range.rs`'s). Nothing
//! has been written when this is decided, so a response that does not
//! honour them (exit 33) leaves the `-o` FILE as it was.

use crate::error::{Error, ErrorKind, Result};
use crate::response::head::Head;
use crate::response::range::{self, Verdict};

use super::{Fetch, Outcome};

impl Fetch<'_> {
    /// `Ok(Some(Done))`: the file is already complete (a 416 saying its
    /// length is the whole), nothing to read; `Ok(None)`: go on.
    pub(super) fn check_range(&mut self, head: &Head) -> Result<Option<Outcome>> {
        let plan = &self.opts.bodies;
        let verdict = match (plan.resume, plan.range) {
            (Some(at), _) => range::resume(head, at),
            (None, Some(first)) => range::range(head, first),
            (None, None) => return Ok(None),
        };
        match verdict {
            Verdict::Honoured => Ok(None),
            Verdict::AlreadyComplete => {
                self.trace
                    .step(|| "416 with the file's length: it is already complete".to_owned());
                Ok(Some(Outcome::Done))
            }
            Verdict::Refused(why) => Err(Error::new(ErrorKind::RangeError, why)),
        }
    }
}
