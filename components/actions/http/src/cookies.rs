//! Each user's cookie jar (`cookie_store`: domain, path, expiry and
//! `Secure` rules as browsers apply them). Keyed by user, so one instance
//! running many users never lets one user see another's.
//!
//! The `Cookie` header lists cookies in RFC 6265 §5.4's order: longer paths
//! first, then earlier creation first. cookie_store keeps cookies in hash
//! maps and keeps no creation time, so the jar numbers each cookie as it is
//! first stored (a replaced cookie keeps its number, as §5.3 keeps its
//! creation time): the header is the same on every run.

use cookie_store::{Cookie, CookieStore};
use std::cell::RefCell;
use std::collections::HashMap;
use url::Url;

/// A cookie's identity: domain, path, name (RFC 6265 §5.3 step 11).
type Key = (String, String, String);

#[derive(Default)]
struct Jar {
    store: CookieStore,
    created: HashMap<Key, u64>,
    next: u64,
}

thread_local! {
    static JARS: RefCell<Vec<(u32, Jar)>> = const { RefCell::new(Vec::new()) };
}

fn key(c: &Cookie<'_>) -> Key {
    (
        String::from(&c.domain),
        String::from(&c.path),
        c.name().to_string(),
    )
}

/// The `Cookie` header value for a request to `url`, if the jar has any.
pub fn header(vu: u32, url: &str) -> Option<String> {
    JARS.with(|j| {
        let jars = j.borrow();
        let (_, jar) = jars.iter().find(|(v, _)| *v == vu)?;
        let url = Url::parse(url).ok()?;
        let mut cookies: Vec<(usize, u64, &Cookie<'_>)> = jar
            .store
            .matches(&url)
            .into_iter()
            .map(|c| {
                let born = jar.created.get(&key(c)).copied().unwrap_or(u64::MAX);
                (String::from(&c.path).len(), born, c)
            })
            .collect();
        cookies.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let pairs: Vec<String> = cookies
            .iter()
            .map(|(_, _, c)| format!("{}={}", c.name(), c.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    })
}

/// Stores a response's `Set-Cookie` values (unparsable ones are ignored,
/// as browsers do), numbering new cookies in the order they came.
pub fn store(vu: u32, url: &str, set_cookies: &[String]) {
    if set_cookies.is_empty() {
        return;
    }
    let Ok(url) = Url::parse(url) else { return };
    JARS.with(|j| {
        let mut jars = j.borrow_mut();
        let i = match jars.iter().position(|(v, _)| *v == vu) {
            Some(i) => i,
            None => {
                jars.push((vu, Jar::default()));
                jars.len() - 1
            }
        };
        let jar = &mut jars[i].1;
        for raw in set_cookies {
            let Ok(parsed) = cookie::Cookie::parse(raw.clone()) else {
                continue;
            };
            jar.store
                .store_response_cookies(std::iter::once(parsed), &url);
            // The one just stored is the only unnumbered one, if new.
            let fresh: Vec<Key> = jar
                .store
                .iter_unexpired()
                .map(key)
                .filter(|k| !jar.created.contains_key(k))
                .collect();
            for k in fresh {
                jar.created.insert(k, jar.next);
                jar.next += 1;
            }
        }
        // Cookies that expired or were deleted lose their number.
        let live: std::collections::HashSet<Key> = jar.store.iter_unexpired().map(key).collect();
        jar.created.retain(|k, _| live.contains(k));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_header_lists_longer_paths_first_then_the_older_cookie() {
        let vu = 7;
        let set = |url: &str, cookies: &[&str]| {
            let v: Vec<String> = cookies.iter().map(|c| c.to_string()).collect();
            store(vu, url, &v);
        };
        set("http://a.test/", &["z=1; Path=/", "y=2; Path=/"]);
        set("http://a.test/app/x", &["b=3; Path=/app", "a=4; Path=/app"]);
        set("http://a.test/", &["x=5; Path=/"]);
        // Replacing a cookie keeps its place.
        set("http://a.test/", &["z=6; Path=/"]);
        assert_eq!(
            header(vu, "http://a.test/app/page").unwrap(),
            "b=3; a=4; z=6; y=2; x=5"
        );
        assert_eq!(header(vu, "http://a.test/").unwrap(), "z=6; y=2; x=5");
        // Deleted, then set again: a new cookie, last among its path's.
        set("http://a.test/", &["y=; Path=/; Max-Age=0"]);
        set("http://a.test/", &["y=7; Path=/"]);
        assert_eq!(header(vu, "http://a.test/").unwrap(), "z=6; x=5; y=7");
    }
}
