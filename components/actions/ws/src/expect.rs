//! What a received message is checked against (`expect`), and the step's
//! queries, answered from the first message that has an answer (`json`,
//! `regex`) or from the 101 (`header`, `status`).

use action_support::answers::{Answered, answer};
use action_support::types::{Query, WsExpect};

/// Whether `body` (a text or binary message) is what `e` expects.
pub fn matches(e: &WsExpect, body: &[u8]) -> bool {
    let read = |queries: &[Query]| {
        answer(
            queries,
            Answered {
                status: 0,
                headers: &[],
                body,
            },
        )
    };
    match e {
        WsExpect::Text(t) => body == t.as_bytes(),
        WsExpect::Regex(r) => read(&[Query::Regex(r.clone())])[0].is_some(),
        WsExpect::Json(entries) => {
            let queries: Vec<Query> = entries
                .iter()
                .map(|(p, _)| Query::Json(p.clone()))
                .collect();
            let got = read(&queries);
            entries
                .iter()
                .zip(got)
                .all(|((_, want), got)| got.as_deref() == Some(want.as_str()))
        }
    }
}

/// `e` as the scenario wrote it, for a failure's message.
pub fn describe(e: &WsExpect) -> String {
    match e {
        WsExpect::Text(t) => format!("{t:?}"),
        WsExpect::Regex(r) => format!("regex {r:?}"),
        WsExpect::Json(entries) => {
            let shown: Vec<String> = entries
                .iter()
                .map(|(p, v)| format!("{p} = {v:?}"))
                .collect();
            format!("json {}", shown.join(", "))
        }
    }
}

/// The step's queries and the answers found so far.
pub struct Answers {
    queries: Vec<Query>,
    got: Vec<Option<String>>,
    /// Indices of the body queries not answered yet.
    open: Vec<usize>,
}

impl Answers {
    /// `header` and `status` queries answered from the upgrade's response.
    pub fn new(queries: Vec<Query>, status: u16, headers: &[(String, String)]) -> Self {
        let got = answer(
            &queries,
            Answered {
                status: u32::from(status),
                headers,
                body: &[],
            },
        );
        let open = queries
            .iter()
            .enumerate()
            .filter(|(_, q)| matches!(q, Query::Json(_) | Query::Regex(_)))
            .map(|(i, _)| i)
            .collect();
        Answers { queries, got, open }
    }

    /// Answers what is still open from one received message.
    pub fn read(&mut self, body: &[u8]) {
        if self.open.is_empty() {
            return;
        }
        let asked: Vec<Query> = self.open.iter().map(|i| self.queries[*i].clone()).collect();
        let found = answer(
            &asked,
            Answered {
                status: 0,
                headers: &[],
                body,
            },
        );
        let mut still = Vec::new();
        for (i, a) in self.open.iter().zip(found) {
            match a {
                Some(v) => self.got[*i] = Some(v),
                None => still.push(*i),
            }
        }
        self.open = still;
    }

    pub fn into_answers(self) -> Vec<Option<String>> {
        self.got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_matches_text_regex_and_json() {
        assert!(matches(&WsExpect::Text("hi 1".into()), b"hi 1"));
        assert!(!matches(&WsExpect::Text("hi 1".into()), b"hi 12"));
        assert!(matches(&WsExpect::Regex("^hi \\d+$".into()), b"hi 12"));
        assert!(!matches(&WsExpect::Regex("^bye".into()), b"hi 12"));
        let json = WsExpect::Json(vec![
            ("/type".into(), "ack".into()),
            ("/n".into(), "3".into()),
        ]);
        assert!(matches(&json, br#"{"type":"ack","n":3}"#));
        assert!(!matches(&json, br#"{"type":"ack","n":4}"#));
        assert!(!matches(&json, b"not json"));
    }

    #[test]
    fn queries_take_the_first_message_that_answers() {
        let headers = [("X-Room".to_string(), "7".to_string())];
        let queries = vec![
            Query::Json("/room".into()),
            Query::Header("x-room".into()),
            Query::Status,
            Query::Regex("id=(\\d+)".into()),
        ];
        let mut a = Answers::new(queries, 101, &headers);
        a.read(b"welcome");
        a.read(br#"{"room":"blue"}"#);
        a.read(br#"{"room":"red"} id=4"#);
        let got = a.into_answers();
        assert_eq!(
            got,
            [Some("blue"), Some("7"), Some("101"), Some("4")].map(|s| s.map(str::to_string))
        );
    }
}
