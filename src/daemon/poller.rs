//! The poller: one task per source, polling on its schedule and handing every answer to the
//! applier. It never touches files or the book itself.

use std::future::Future;
use std::time::Duration;

use crate::source::{Answer, schedule};

/// Polls forever: after `first_delay`, then on the schedule that each answer sets. `deliver`
/// gets each answer and the delay chosen before the next poll; it returns `false` when nobody
/// listens any more. `jitter` yields numbers in [-1, 1].
pub(crate) async fn run<P, F>(
    interval: Duration,
    first_delay: Duration,
    mut poll: P,
    mut deliver: impl FnMut(Answer, Duration) -> bool,
    mut jitter: impl FnMut() -> f64,
) where
    P: FnMut() -> F,
    F: Future<Output = Answer>,
{
    tokio::time::sleep(first_delay).await;
    let mut failures = 0u32;
    loop {
        let answer = poll().await;
        let retry_after = match &answer {
            Answer::Observed(_) => {
                failures = 0;
                None
            }
            Answer::Failed { retry_after, .. } => {
                failures = failures.saturating_add(1);
                *retry_after
            }
        };
        let delay = schedule::delay(interval, failures, retry_after, jitter());
        if !deliver(answer, delay) {
            return;
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use tokio::time::Instant;

    use super::*;
    use crate::quota::Observation;

    fn ok() -> Answer {
        Answer::Observed(Observation {
            source: "s".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
            providers: BTreeMap::new(),
        })
    }

    fn failed(retry_after: Option<u64>) -> Answer {
        Answer::Failed {
            error: "HTTP 500".into(),
            forget_data: false,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    /// Runs the poller against scripted answers until they run out; returns the seconds since the
    /// start at which each poll happened.
    async fn times(interval: u64, first_delay: u64, script: Vec<Answer>) -> Vec<f64> {
        let start = Instant::now();
        let polls = Rc::new(RefCell::new(Vec::new()));
        let remaining = Rc::new(RefCell::new(script.into_iter()));
        let (p, r) = (polls.clone(), remaining.clone());
        run(
            Duration::from_secs(interval),
            Duration::from_secs(first_delay),
            move || {
                p.borrow_mut().push(start.elapsed().as_secs_f64());
                let next = r.borrow_mut().next();
                async move { next.unwrap_or_else(ok) }
            },
            |_, _| !remaining.borrow().as_slice().is_empty(),
            || 0.0,
        )
        .await;
        polls.borrow().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn polls_once_per_interval() {
        assert_eq!(
            times(60, 0, vec![ok(), ok(), ok(), ok()]).await,
            [0.0, 60.0, 120.0, 180.0]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_after_errors_up_to_eight_intervals_and_recovers() {
        let script = vec![
            failed(None),
            failed(None),
            failed(None),
            failed(None),
            ok(),
            ok(),
            ok(),
        ];
        assert_eq!(
            times(60, 0, script).await,
            [0.0, 120.0, 360.0, 840.0, 1320.0, 1380.0, 1440.0]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_a_persisted_first_delay() {
        assert_eq!(
            times(60, 30, vec![failed(Some(3600)), ok(), ok()]).await,
            [30.0, 3630.0, 3690.0]
        );
    }
}
