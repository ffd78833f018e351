use super::*;
use reqwest::header::HeaderValue;

const SPAN: Duration = Duration::from_secs(10);

fn spec(name: &'static str, limit: u32) -> WindowSpec {
    WindowSpec {
        name,
        limit,
        span: SPAN,
        headers: Some(QuotaHeaders {
            remaining: "x-remaining",
            max: "x-max",
            interval_ms: "x-interval-ms",
        }),
        refusal: None,
    }
}

fn one(limit: u32) -> Limiter {
    Limiter::new(vec![Arc::new(Window::new(spec("w", limit)))])
}

fn ok<'a>(h: &'a HeaderMap) -> Answer<'a> {
    Answer::new(200, h, b"")
}

/// xorshift: deterministic latencies without a dependency.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Every grant `j` starts no sooner than `span` after the completion
/// of grant `j − limit`: so at most `limit` arrivals share a window,
/// whatever the latencies and the number in flight.
#[tokio::test(start_paused = true)]
async fn grants_stay_a_span_after_the_completion_limit_grants_back() {
    for (seed, in_flight) in [(1u64, 1usize), (7, 4), (42, 16), (9, 0)] {
        let limit = 10;
        let l = one(limit);
        let log: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
        let mut s = seed;
        let mut tasks = tokio::task::JoinSet::new();
        let workers = in_flight.max(1);
        let per = 60 / workers;
        for _ in 0..workers {
            let latencies: Vec<u64> = (0..per).map(|_| rng(&mut s) % 3000).collect();
            let (l, log) = (l.clone(), log.clone());
            tasks.spawn(async move {
                for ms in latencies {
                    let p = l.acquire().await;
                    let granted = Instant::now();
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    let h = HeaderMap::new();
                    p.complete(ok(&h));
                    log.lock().unwrap().push((granted, Instant::now()));
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        let mut log = log.lock().unwrap().clone();
        assert_eq!(log.len(), per * workers);
        log.sort();
        let mut dones: Vec<Instant> = Vec::new();
        for (j, (granted, _)) in log.iter().enumerate() {
            // The completions of the grants before j, oldest first.
            dones.clear();
            dones.extend(log[..j].iter().map(|(_, d)| *d));
            dones.sort();
            let live = dones.iter().filter(|d| **d + SPAN > *granted).count();
            assert!(live < limit as usize, "grant {j} with {live} live");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_first_window_goes_at_once() {
    let l = one(100);
    let start = Instant::now();
    let mut permits = Vec::new();
    for _ in 0..100 {
        permits.push(l.acquire().await);
    }
    assert_eq!(Instant::now(), start, "Trello's burst: no wait");
    assert_eq!(l.windows()[0].used(), 100);
}

#[tokio::test(start_paused = true)]
async fn a_window_full_of_requests_in_flight_waits_for_one_to_complete_then_a_span() {
    let l = one(2);
    let a = l.acquire().await;
    let _b = l.acquire().await;
    let start = Instant::now();
    let waiter = tokio::spawn({
        let l = l.clone();
        async move {
            let _p = l.acquire().await;
            Instant::now()
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!waiter.is_finished(), "both slots in flight");
    drop(a); // dropped without an answer: completed now
    let got = waiter.await.unwrap();
    assert_eq!(got, start + Duration::from_secs(3) + SPAN);
}

#[tokio::test(start_paused = true)]
async fn remaining_lower_than_ours_adds_phantoms_higher_removes_nothing() {
    let l = one(10);
    let w = l.windows()[0].clone();
    let mut h = HeaderMap::new();
    h.insert("x-remaining", HeaderValue::from(3));
    l.acquire().await.complete(ok(&h));
    // Ours: 10 − 1 = 9 left; the server says 3: 6 phantoms.
    assert_eq!(w.used(), 7);
    h.insert("x-remaining", HeaderValue::from(99));
    l.acquire().await.complete(ok(&h));
    assert_eq!(w.used(), 8);
    tokio::time::advance(SPAN).await;
    assert_eq!(w.used(), 0, "phantoms expire like our own entries");
}

#[tokio::test(start_paused = true)]
async fn a_smaller_server_max_is_adopted_never_a_larger() {
    let l = one(10);
    let w = l.windows()[0].clone();
    let mut h = HeaderMap::new();
    h.insert("x-max", HeaderValue::from(4));
    l.acquire().await.complete(ok(&h));
    assert_eq!(w.limit(), 4);
    h.insert("x-max", HeaderValue::from(50));
    l.acquire().await.complete(ok(&h));
    assert_eq!(w.limit(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_shared_key_window_caps_every_token_of_the_key() {
    let base = "http://127.0.0.1:1/limiter-test-shared";
    let clients: Vec<Limiter> = (0..4)
        .map(|t| Limiter::trello(base, "k1", &format!("t{t}"), 100, SPAN))
        .collect();
    let other = Limiter::trello(base, "k2", "t0", 100, SPAN);
    let key = clients[0].windows()[0].clone();
    assert!(clients.iter().all(|c| Arc::ptr_eq(&c.windows()[0], &key)));
    assert!(!Arc::ptr_eq(&other.windows()[0], &key));
    let granted = Arc::new(Mutex::new(0u32));
    let mut tasks = tokio::task::JoinSet::new();
    for c in clients {
        let granted = granted.clone();
        tasks.spawn(async move {
            for _ in 0..100 {
                let p = c.acquire().await;
                *granted.lock().unwrap() += 1;
                std::mem::forget(p); // in flight for the whole test
            }
        });
    }
    tokio::time::sleep(SPAN / 2).await;
    assert_eq!(*granted.lock().unwrap(), 300, "the key's 300, not 4 × 100");
    // A different key is not held back.
    for _ in 0..100 {
        std::mem::forget(other.acquire().await);
    }
    tasks.abort_all();
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_the_window_its_body_names() {
    let base = "http://127.0.0.1:1/limiter-test-429";
    let a = Limiter::trello(base, "k", "a", 100, SPAN);
    let b = Limiter::trello(base, "k", "b", 100, SPAN);
    let h = HeaderMap::new();
    let start = Instant::now();
    a.acquire().await.complete(Answer::new(
        429,
        &h,
        br#"{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}"#,
    ));
    let _ = b.acquire().await;
    assert_eq!(Instant::now(), start, "another token of the key goes on");
    let _ = a.acquire().await;
    assert_eq!(Instant::now(), start + SPAN, "the token waits a span");

    let start = Instant::now();
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from(2));
    a.acquire().await.complete(Answer::new(
        429,
        &h,
        br#"{"error":"API_KEY_LIMIT_EXCEEDED","message":"Rate limit exceeded"}"#,
    ));
    let _ = b.acquire().await;
    assert_eq!(
        Instant::now(),
        start + Duration::from_secs(2),
        "the key's pause holds every token of the key, for Retry-After"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_without_a_known_code_pauses_the_narrowest_window() {
    let l = Limiter::new(vec![
        Arc::new(Window::new(spec("wide", 300))),
        Arc::new(Window::new(spec("narrow", 100))),
    ]);
    let h = HeaderMap::new();
    l.acquire()
        .await
        .complete(Answer::new(429, &h, b"slow down"));
    let st = l.windows()[1].lock();
    assert!(st.paused_until.is_some());
    assert!(l.windows()[0].lock().paused_until.is_none());
}

#[test]
fn retry_after_in_seconds_or_as_a_date() {
    let at = |v: &str, date: Option<&str>| {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        if let Some(d) = date {
            h.insert(DATE, HeaderValue::from_str(d).unwrap());
        }
        retry_after(
            &h,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470),
        )
    };
    assert_eq!(at("3", None), Some(Duration::from_secs(3)));
    assert_eq!(at(" 2 ", None), Some(Duration::from_secs(2)));
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    assert_eq!(
        at(date, Some("Wed, 21 Oct 2015 07:27:55 GMT")),
        Some(Duration::from_secs(5)),
        "against the answer's Date"
    );
    // 1_445_412_470 is 07:27:50: without Date, against our clock.
    assert_eq!(at(date, None), Some(Duration::from_secs(10)));
    assert_eq!(
        at(date, Some("Wed, 21 Oct 2015 08:00:00 GMT")),
        Some(Duration::ZERO),
        "a past date is no wait"
    );
    assert_eq!(
        at(date, Some("Tue, 20 Oct 2015 07:28:00 GMT")),
        Some(MAX_RETRY_AFTER)
    );
    assert_eq!(at("soon", None), None);
    assert_eq!(at("-1", None), None);
    assert_eq!(at("99999", None), Some(MAX_RETRY_AFTER));
}
