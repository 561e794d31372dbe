//! A small web shop for journey tests (HTTP/1.1 keep-alive, loopback). It
//! keeps its own account of what it saw, so tests compare the report with
//! the server:
//!   POST /tenant   (setup) needs `X-Admin: secret`; returns {"tenant": "t-1"}
//!   DELETE /tenant/t-1 (teardown)
//!   POST /login    JSON {user, password} of one of its users; returns
//!                  {"auth": {"token": …}} and a session cookie
//!   GET  /cart?user=NAME  needs that user's token (Bearer) and cookie;
//!                  401 otherwise; HTML with a CSRF value and items
//!   POST /order    form csrf=… with the token: the CSRF /cart issued for it
//!   GET  /me       needs a token it issued (Bearer); {"user": NAME}, else 401

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the shop saw.
#[derive(Default, Debug)]
pub struct Ledger {
    pub tenants_created: usize,
    pub tenants_deleted: usize,
    /// (user logged in, the X-Vu header it came with)
    pub logins: Vec<(String, Option<u32>)>,
    pub bad_logins: usize,
    /// token → user it was issued to
    pub tokens: HashMap<String, String>,
    /// token → CSRF value /cart issued for it
    pub csrf: HashMap<String, String>,
    /// /cart requests with the right token and cookie for the user they name
    pub carts_ok: usize,
    pub carts_refused: usize,
    pub orders_ok: usize,
    pub orders_refused: usize,
    /// /me requests with a token it issued, and without.
    pub me_ok: usize,
    pub me_refused: usize,
    /// Requests whose X-Tenant was not setup's tenant.
    pub wrong_tenant: usize,
}

pub struct Shop {
    pub addr: SocketAddr,
    pub ledger: Arc<Mutex<Ledger>>,
}

/// `users` accounts: user0/pw0, user1/pw1, …
pub fn start(users: usize) -> Shop {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let l = Arc::clone(&ledger);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let l = Arc::clone(&l);
            std::thread::spawn(move || serve(conn, users, l));
        }
    });
    Shop { addr, ledger }
}

/// The CSV of `n` accounts (header row first).
pub fn users_csv(n: usize) -> String {
    let mut s = String::from("name,password\n");
    for i in 0..n {
        s.push_str(&format!("user{i},pw{i}\n"));
    }
    s
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

fn read(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn serve(conn: TcpStream, users: usize, ledger: Arc<Mutex<Ledger>>) {
    let mut out = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    while let Some(req) = read(&mut r) {
        let (status, extra, body) = answer(&req, users, &ledger);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(body.as_bytes()).is_err() {
            return;
        }
    }
}

fn token_of(req: &Request) -> Option<String> {
    req.headers
        .get("authorization")?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

fn answer(req: &Request, users: usize, ledger: &Mutex<Ledger>) -> (String, String, String) {
    let mut l = ledger.lock().unwrap();
    let json = "Content-Type: application/json; charset=utf-8\r\n";
    if req.path != "/tenant" && req.headers.get("x-tenant").map(String::as_str) != Some("t-1") {
        l.wrong_tenant += 1;
    }
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    match (req.method.as_str(), path) {
        ("POST", "/tenant") => {
            if req.headers.get("x-admin").map(String::as_str) != Some("secret") {
                return ("403 Forbidden".into(), String::new(), "no".into());
            }
            l.tenants_created += 1;
            (
                "201 Created".into(),
                json.into(),
                r#"{"tenant": "t-1"}"#.into(),
            )
        }
        ("DELETE", "/tenant/t-1") => {
            l.tenants_deleted += 1;
            ("204 No Content".into(), String::new(), String::new())
        }
        ("POST", "/login") => {
            let v: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
            let (user, pw) = (
                v["user"].as_str().unwrap_or_default(),
                v["password"].as_str().unwrap_or_default(),
            );
            let valid = (0..users).any(|i| user == format!("user{i}") && pw == format!("pw{i}"));
            if !valid {
                l.bad_logins += 1;
                return ("401 Unauthorized".into(), String::new(), "bad".into());
            }
            let vu = req.headers.get("x-vu").and_then(|v| v.parse().ok());
            l.logins.push((user.to_string(), vu));
            let token = format!("tok-{user}-{}", l.tokens.len());
            l.tokens.insert(token.clone(), user.to_string());
            let body = format!(r#"{{"status": "ok", "auth": {{"token": "{token}"}}}}"#);
            let cookie = format!("{json}Set-Cookie: session=s-{user}; Path=/\r\n");
            ("200 OK".into(), cookie, body)
        }
        ("GET", "/cart") => {
            let named = query.strip_prefix("user=").unwrap_or_default();
            let token = token_of(req).unwrap_or_default();
            let cookie_ok = req
                .headers
                .get("cookie")
                .is_some_and(|c| c.contains(&format!("session=s-{named}")));
            if l.tokens.get(&token).map(String::as_str) != Some(named) || !cookie_ok {
                l.carts_refused += 1;
                return ("401 Unauthorized".into(), String::new(), "who?".into());
            }
            l.carts_ok += 1;
            let csrf = format!("c{}x{}", token.len(), l.csrf.len());
            l.csrf.insert(token, csrf.clone());
            let html = format!(
                "<html><form><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><li id=\"item-7\">tea</li></form></html>"
            );
            ("200 OK".into(), "Content-Type: text/html\r\n".into(), html)
        }
        ("GET", "/me") => match l.tokens.get(&token_of(req).unwrap_or_default()).cloned() {
            Some(user) => {
                l.me_ok += 1;
                (
                    "200 OK".into(),
                    json.into(),
                    format!(r#"{{"user": "{user}"}}"#),
                )
            }
            None => {
                l.me_refused += 1;
                ("401 Unauthorized".into(), String::new(), "who?".into())
            }
        },
        ("POST", "/order") => {
            let token = token_of(req).unwrap_or_default();
            let sent: HashSet<(String, String)> = form_urlencoded(&req.body).into_iter().collect();
            let ok = l
                .csrf
                .get(&token)
                .is_some_and(|c| sent.contains(&("csrf".to_string(), c.clone())));
            if !ok {
                l.orders_refused += 1;
                return ("403 Forbidden".into(), String::new(), "csrf".into());
            }
            l.orders_ok += 1;
            (
                "200 OK".into(),
                json.into(),
                r#"{"status": "ok", "items": [{"id": 7}]}"#.into(),
            )
        }
        _ => ("404 Not Found".into(), String::new(), "?".into()),
    }
}

fn form_urlencoded(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace('+', " ")))
        .collect()
}
