//! A HAR file checked against the HAR 1.2 JSON Schema (test-kit/har-schema,
//! vendored): the per-object files bundled into one schema, their
//! `"X.json#"` references turned into `#/definitions/X`, formats checked.

use serde_json::{Map, Value};

fn bundled() -> Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("har-schema");
    let mut definitions = Map::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(".json#\"", "\"");
        let mut schema: Value = serde_json::from_str(&text).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let map = schema.as_object_mut().unwrap();
        map.remove("$id");
        map.remove("$schema");
        definitions.insert(name, schema);
    }
    // Every reference now names a definition.
    let text = serde_json::to_string(&Value::Object(definitions)).unwrap();
    let text = text.replace("{\"$ref\":\"", "{\"$ref\":\"#/definitions/");
    let definitions: Value = serde_json::from_str(&text).unwrap();
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-06/schema#",
        "definitions": definitions,
        "$ref": "#/definitions/har",
    })
}

/// What does not fit the HAR 1.2 schema (empty: the file is valid HAR).
pub fn problems(har: &Value) -> Vec<String> {
    let schema = bundled();
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the HAR schema compiles");
    v.iter_errors(har)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::problems;

    #[test]
    fn the_schema_tells_a_har_from_what_is_not() {
        let good = serde_json::json!({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [{
            "startedDateTime": "2026-12-06T02:45:00.123Z", "time": 1.5,
            "request": {"method": "GET", "url": "http://127.0.0.1:8080/a?b=1", "httpVersion": "HTTP/1.1",
                        "cookies": [], "headers": [], "queryString": [{"name": "b", "value": "1"}],
                        "headersSize": -1, "bodySize": 0},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
                         "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0.5},
            "serverIPAddress": "127.0.0.1"}]}});
        assert_eq!(problems(&good), Vec::<String>::new());
        let mut bad = good.clone();
        bad["log"]["entries"][0]["serverIPAddress"] = "not an address".into();
        bad["log"]["entries"][0]["request"]
            .as_object_mut()
            .unwrap()
            .remove("url");
        assert_eq!(problems(&bad).len(), 2, "{:?}", problems(&bad));
    }
}
