//! Each user's cookie jar (`cookie_store`: domain, path, expiry and
//! `Secure` rules as browsers apply them). Keyed by user, so one instance
//! running many users (plain mode) never lets one user see another's.

use cookie_store::CookieStore;
use std::cell::RefCell;
use url::Url;

thread_local! {
    static JARS: RefCell<Vec<(u32, CookieStore)>> = const { RefCell::new(Vec::new()) };
}

/// The `Cookie` header value for a request to `url`, if the jar has any.
pub fn header(vu: u32, url: &str) -> Option<String> {
    JARS.with(|j| {
        let jars = j.borrow();
        let (_, jar) = jars.iter().find(|(v, _)| *v == vu)?;
        let url = Url::parse(url).ok()?;
        let pairs: Vec<String> = jar
            .get_request_values(&url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    })
}

/// Stores a response's `Set-Cookie` values (unparsable ones are ignored,
/// as browsers do).
pub fn store(vu: u32, url: &str, set_cookies: &[String]) {
    if set_cookies.is_empty() {
        return;
    }
    let Ok(url) = Url::parse(url) else { return };
    let parsed = set_cookies
        .iter()
        .filter_map(|s| cookie::Cookie::parse(s.clone()).ok());
    JARS.with(|j| {
        let mut jars = j.borrow_mut();
        let i = match jars.iter().position(|(v, _)| *v == vu) {
            Some(i) => i,
            None => {
                jars.push((vu, CookieStore::default()));
                jars.len() - 1
            }
        };
        jars[i].1.store_response_cookies(parsed, &url);
    });
}
