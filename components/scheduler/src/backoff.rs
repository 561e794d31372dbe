//! A user's back-off from a target that refuses connections. A closed port
//! answers in microseconds, so a closed-model user that loops on it sends
//! 100,000 refused connects in 3 s and measures nothing but itself. After a
//! refused connect the user waits 10 ms, doubling with each refusal in a
//! row up to 1 s (or its think time, when that is longer); any other
//! outcome resets it. Arrival-rate users never wait longer than their think
//! time: there the rate, not the user, sets the pace.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// A closed-model user's (the only kind that backs off).
    closed_model: bool,
    /// The pause the last refusal asked for (zero while none).
    current: Duration,
}

impl Backoff {
    pub fn new(closed_model: bool) -> Self {
        Backoff {
            closed_model,
            current: Duration::ZERO,
        }
    }

    /// The pause after a step: `think`, or longer while refused.
    pub fn after(&mut self, think: Duration, refused: bool) -> Duration {
        if !refused || !self.closed_model {
            self.current = Duration::ZERO;
            return think;
        }
        self.current = (self.current * 2).clamp(FIRST, MAX);
        think.max(self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_doubles_to_a_second_resets_on_anything_else_and_ignores_open_models() {
        let mut b = Backoff::new(true);
        let ms = |n| Duration::from_millis(n);
        let pauses: Vec<_> = (0..9).map(|_| b.after(ms(0), true)).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000].map(ms));
        assert_eq!(b.after(ms(5), false), ms(5));
        assert_eq!(b.after(ms(50), true), ms(50), "the think time when longer");
        assert_eq!(
            Backoff::new(false).after(ms(0), true),
            ms(0),
            "arrival rate: no back-off"
        );
    }
}
