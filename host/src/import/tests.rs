use super::{Options, import};
use serde_json::json;

fn har(entries: serde_json::Value) -> String {
    json!({"log": {"version": "1.2", "entries": entries}}).to_string()
}

fn exchange(url: &str, sent: serde_json::Value, got: serde_json::Value) -> serde_json::Value {
    json!({"startedDateTime": "2026-12-01T10:00:00Z", "time": 1,
           "request": {"method": "GET", "url": url, "headers": sent},
           "response": {"status": 200, "headers": got["headers"], "content": got["content"]}})
}

fn options() -> Options {
    Options {
        id: "t".into(),
        source: "t.har".into(),
        ..Options::default()
    }
}

/// A value the client sent before any response carried it is the
/// client's own (a user name), not the server's: it stays as recorded.
#[test]
fn a_value_the_client_sent_first_is_not_correlated() {
    let text = har(json!([
        exchange(
            "http://a.test/who?name=ada2024",
            json!([]),
            json!({"headers": [], "content": {"mimeType": "application/json", "text": "{\"name\": \"ada2024\"}"}})
        ),
        exchange(
            "http://a.test/next?name=ada2024",
            json!([]),
            json!({"headers": [], "content": {}})
        ),
    ]));
    let done = import(&text, &options()).unwrap();
    assert!(done.correlated.is_empty(), "{}", done.yaml);
    assert!(done.yaml.contains("next?name=ada2024"));
}

/// A response header's value sent later is extracted by header; a JSON
/// key with `/` in it is escaped in the pointer (RFC 6901).
#[test]
fn header_values_and_json_pointers_are_extracted_by_name() {
    let text = har(json!([
        exchange(
            "http://a.test/start",
            json!([]),
            json!({"headers": [{"name": "X-Request-Id", "value": "req-7f3a9c"}],
                        "content": {"mimeType": "application/json", "text": "{\"a/b\": {\"id\": \"k9x7q2w8\"}}"}})
        ),
        exchange(
            "http://a.test/item/k9x7q2w8",
            json!([{"name": "X-Trace", "value": "req-7f3a9c"}]),
            json!({"headers": [], "content": {}})
        ),
    ]));
    let done = import(&text, &options()).unwrap();
    assert!(
        done.yaml
            .contains("x_request_id: {header: \"X-Request-Id\"}"),
        "{}",
        done.yaml
    );
    assert!(
        done.yaml.contains("id: {json: \"/a~1b/id\"}"),
        "{}",
        done.yaml
    );
    assert!(
        done.yaml.contains("\"http://a.test/item/${id}\""),
        "{}",
        done.yaml
    );
    assert!(
        done.yaml.contains("\"X-Trace\": \"${x_request_id}\""),
        "{}",
        done.yaml
    );
}

/// Recorded text with a literal `${` stays literal in the scenario.
#[test]
fn a_literal_dollar_brace_is_escaped() {
    let text = har(json!([exchange(
        "http://a.test/p?q=${x}",
        json!([]),
        json!({"headers": [], "content": {}})
    )]));
    let done = import(&text, &options()).unwrap();
    assert!(
        done.yaml.contains("\"http://a.test/p?q=$${x}\""),
        "{}",
        done.yaml
    );
}

/// `--host` takes a host (any port) or host:port, the scheme's default port
/// included when the URL names none.
#[test]
fn host_filters_match_default_ports_and_any_port() {
    let text = har(json!([
        exchange(
            "https://shop.test/a1",
            json!([]),
            json!({"headers": [], "content": {}})
        ),
        exchange(
            "http://shop.test:8080/b2",
            json!([]),
            json!({"headers": [], "content": {}})
        ),
        exchange(
            "http://[::1]:9/c3",
            json!([]),
            json!({"headers": [], "content": {}})
        ),
    ]));
    let kept = |hosts: &[&str]| {
        let o = Options {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..options()
        };
        import(&text, &o).map_or(0, |d| d.steps)
    };
    assert_eq!(kept(&["shop.test"]), 2);
    assert_eq!(kept(&["shop.test:443"]), 1);
    assert_eq!(kept(&["shop.test:8080"]), 1);
    assert_eq!(kept(&["[::1]:9"]), 1);
    assert_eq!(kept(&["other.test"]), 0);
}
