//! The Rust SDK for scripted users: the `scheduler:script` world's
//! bindings, a `Journey` trait with defaults, and request builders. A
//! script is a `cdylib` crate:
//!
//! ```ignore
//! use scheduler_script::{Ctx, Journey, check, http};
//! struct Me;
//! impl Journey for Me {
//!     fn iteration(ctx: Ctx) -> Result<(), String> {
//!         let r = http::get("http://127.0.0.1:18080/").name("home").send();
//!         check("home ok", r.status == 200);
//!         Ok(())
//!     }
//! }
//! scheduler_script::journey!(Me);
//! ```
//!
//! An `Err` fails the iteration with its message; a panic traps the user's
//! instance (counted as `trap`, and the user is made again).

wit_bindgen::generate!({
    world: "script",
    path: "wit",
    pub_export_macro: true,
    default_bindings_module: "scheduler_script",
});

pub use exports::scheduler::script::journey::Guest;
use scheduler::script::sdk;

/// The user, its iteration and what `setup` returned, as `iteration`
/// gets them.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub vu: u32,
    pub iteration: u64,
    pub setup: std::collections::HashMap<String, String>,
}

/// A journey: `iteration` for each of a user's iterations, `setup` and
/// `teardown` once around the load (values `setup` returns are every
/// user's `setup.NAME`).
pub trait Journey {
    fn setup() -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn iteration(ctx: Ctx) -> Result<(), String>;
    fn teardown() -> Result<(), String> {
        Ok(())
    }
}

/// Calls the journey for the `journey` export (a trait of our own, so its
/// functions may have defaults).
pub fn iteration<J: Journey>() -> Result<(), String> {
    J::iteration(Ctx {
        vu: sdk::vu(),
        iteration: sdk::iteration(),
        setup: sdk::setup_values().into_iter().collect(),
    })
}

/// Exports `$t: Journey` as the component's `journey`.
#[macro_export]
macro_rules! journey {
    ($t:ty) => {
        struct __Journey;
        impl $crate::Guest for __Journey {
            fn setup() -> Result<Vec<(String, String)>, String> {
                <$t as $crate::Journey>::setup()
            }
            fn iteration() -> Result<(), String> {
                $crate::iteration::<$t>()
            }
            fn teardown() -> Result<(), String> {
                <$t as $crate::Journey>::teardown()
            }
        }
        $crate::export!(__Journey with_types_in $crate);
    };
}

/// A named check (counted in the report; a failed one fails the step of
/// the last request). Returns `passed`.
pub fn check(name: &str, passed: bool) -> bool {
    sdk::check(name, passed)
}

/// Think time.
pub fn sleep(d: std::time::Duration) {
    sdk::sleep(u32::try_from(d.as_millis()).unwrap_or(u32::MAX));
}

pub fn env(name: &str) -> Option<String> {
    sdk::env(name)
}

/// Custom metrics, in the report's `custom` section.
pub mod metrics {
    /// Adds `value` to counter `name`.
    pub fn counter(name: &str, value: f64) {
        super::sdk::counter(name, value);
    }
    /// Records `value` in trend `name` (percentiles).
    pub fn trend(name: &str, value: f64) {
        super::sdk::trend(name, value);
    }
}

/// Runs `f` with its requests reported as `name/…`.
pub fn group<R>(name: &str, f: impl FnOnce() -> R) -> R {
    sdk::group(Some(name));
    let r = f();
    sdk::group(None);
    r
}

/// A TCP exchange (the reply stays in the action, checked there against
/// `expect`).
pub fn tcp(target: &str, payload: &[u8], delimiter: Option<&[u8]>, expect: Option<&[u8]>, name: Option<&str>) -> sdk::ExchangeResult {
    sdk::tcp(&sdk::TcpRequest {
        target: target.into(),
        payload: payload.to_vec(),
        delimiter: delimiter.map(<[u8]>::to_vec),
        expect: expect.map(<[u8]>::to_vec),
        name: name.map(str::to_string),
        timeout_ms: None,
    })
}

/// A UDP datagram, and its reply when `await_reply`.
pub fn udp(target: &str, payload: &[u8], await_reply: bool, expect: Option<&[u8]>, name: Option<&str>) -> sdk::ExchangeResult {
    sdk::udp(&sdk::UdpRequest {
        target: target.into(),
        payload: payload.to_vec(),
        await_reply,
        expect: expect.map(<[u8]>::to_vec),
        name: name.map(str::to_string),
        timeout_ms: None,
    })
}

pub use sdk::ExchangeResult;

pub mod data {
    /// The next row of data source `source`, as column → value.
    pub fn row(source: &str) -> Result<std::collections::HashMap<String, String>, String> {
        super::sdk::data_row(source).map(|r| r.into_iter().collect())
    }
}

pub mod http {
    use super::sdk;

    /// A request being built; `send` makes it.
    pub struct Request(sdk::HttpRequest);

    fn request(method: &str, url: &str) -> Request {
        Request(sdk::HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            name: None,
            timeout_ms: None,
            max_redirects: None,
            max_body: None,
        })
    }

    pub fn get(url: &str) -> Request {
        request("GET", url)
    }
    pub fn post(url: &str) -> Request {
        request("POST", url)
    }
    pub fn put(url: &str) -> Request {
        request("PUT", url)
    }
    pub fn patch(url: &str) -> Request {
        request("PATCH", url)
    }
    pub fn delete(url: &str) -> Request {
        request("DELETE", url)
    }

    impl Request {
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.0.headers.push((name.into(), value.into()));
            self
        }
        /// A JSON body (and its Content-Type).
        pub fn json(mut self, value: &impl serde::Serialize) -> Self {
            self.0.body = serde_json::to_vec(value).ok();
            self.header("Content-Type", "application/json")
        }
        pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
            self.0.body = Some(bytes.into());
            self
        }
        /// The name its figures are reported under.
        pub fn name(mut self, name: &str) -> Self {
            self.0.name = Some(name.into());
            self
        }
        pub fn timeout(mut self, d: std::time::Duration) -> Self {
            self.0.timeout_ms = u32::try_from(d.as_millis()).ok();
            self
        }
        pub fn send(self) -> Response {
            let r = sdk::http(&self.0);
            Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
                error: r.error,
                duration_ms: r.duration_ms,
            }
        }
    }

    /// What came back (`status` 0 and `error` set: no response).
    pub struct Response {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
        pub error: Option<String>,
        /// From the call to the last byte.
        pub duration_ms: f64,
    }

    impl Response {
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
        pub fn json(&self) -> Result<serde_json::Value, String> {
            serde_json::from_slice(&self.body).map_err(|e| format!("response body: {e}"))
        }
        /// The first header with this name (any case).
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }
}
