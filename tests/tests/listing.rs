//! `GET /v1/sessions` under `wrangler dev`: each filter alone and combined, pages over more than
//! one page with no duplicate and no gap (oldest first, by the time of creation kept to the
//! millisecond, then id), the created-time range in Unix seconds, and each bad
//! parameter answered 400 naming it. Then `GET /v1/events?latest=true`: the feed's newest end in
//! one read, oldest first, and the rules both lists share.

use std::collections::BTreeSet;

use e2e::{Options, Stack};
use serde_json::{json, Value};

fn order(reference: &str, amount: u64) -> Value {
    json!({"amount": amount, "currency": "HKD", "goods_name": "Milk tea", "reference": reference})
}

/// The ids of a list answer, after checking it is a 200 page.
fn ids(status: u16, page: &Value, text: &str) -> Vec<String> {
    assert_eq!(status, 200, "{text}");
    page["data"].as_array().expect("data").iter().map(|s| s["id"].as_str().expect("an id").to_owned()).collect()
}

async fn list(stack: &Stack, query: &str) -> (Vec<String>, bool) {
    let (status, page, text) = stack.merchant("GET", &format!("/v1/sessions{query}"), None, None).await;
    let text = if status == 200 { text } else { format!("{text}\nthe worker's log:\n{}", stack.worker_log()) };
    let found = ids(status, &page, &text);
    (found, page["has_more"].as_bool().expect("has_more"))
}

/// Follows `after` from the first page to the last; answers every id in order.
async fn walk(stack: &Stack, filter: &str, limit: u32) -> Vec<String> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..50 {
        let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let (page, more) = list(stack, &format!("?limit={limit}{filter}{cursor}")).await;
        assert!(page.len() <= limit as usize, "a page holds at most limit sessions");
        all.extend(page.iter().cloned());
        if !more {
            return all;
        }
        assert_eq!(page.len(), limit as usize, "a page before the last is full");
        after = page.last().cloned();
    }
    panic!("the pages never ended");
}

async fn field_of_error(stack: &Stack, query: &str) -> String {
    let (status, err, text) = stack.merchant("GET", &format!("/v1/sessions{query}"), None, None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("invalid_field")), "{query}: {text}");
    err["error"]["field"].as_str().expect("a field").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_list_filters_and_pages() {
    let stack = Stack::start(Options::default()).await;
    assert_eq!(list(&stack, "").await, (Vec::new(), false), "no session yet");
    assert_eq!(events(&stack, "?latest=true&limit=1").await, (Vec::new(), false), "an empty feed's newest end");

    // Eleven sessions: eight for one reference, three for another; one of them closed. The
    // fourth and the ninth start a new second, so a range in whole seconds has sessions on both
    // sides of each bound.
    let mut created = Vec::new();
    for i in 0..11u64 {
        if i == 3 || i == 8 {
            next_second().await;
        }
        let reference = if i % 3 == 2 { "recon-b" } else { "recon-a" };
        let (id, _) = stack.session(order(reference, 1000 + i)).await;
        let (_, session, _) = stack.merchant("GET", &format!("/v1/sessions/{id}"), None, None).await;
        created.push((id, reference, session["created_at"].as_u64().expect("created_at"), session));
    }
    let closed = created[4].0.clone();
    let (status, _, text) = stack.merchant("POST", &format!("/v1/sessions/{closed}/close"), None, None).await;
    assert!(status == 200 || status == 202, "{text}");
    // Oldest first is the order they were created in (one after another, each a few ms at
    // least): created_at, in whole seconds, never goes back.
    let expected = created.clone();
    assert!(expected.windows(2).all(|w| w[0].2 <= w[1].2), "created_at is Unix seconds, in order");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(expected.iter().all(|c| c.2.abs_diff(now) < 600), "created_at is Unix seconds, not ms");
    let expected_ids: Vec<String> = expected.iter().map(|c| c.0.clone()).collect();

    // Every page size walks every session once, oldest first.
    for limit in [1, 3, 4, 11, 100] {
        let walked = walk(&stack, "", limit).await;
        assert_eq!(walked, expected_ids, "limit {limit}: no duplicate, no gap, oldest first");
    }
    let (first, more) = list(&stack, "").await;
    assert_eq!((first.len(), more), (11, false), "the default page (20) holds them all");

    // Each entry is what GET /v1/sessions/{id} shows.
    let (_, page, _) = stack.merchant("GET", "/v1/sessions?limit=2", None, None).await;
    for shown in page["data"].as_array().unwrap() {
        let (_, one, _) =
            stack.merchant("GET", &format!("/v1/sessions/{}", shown["id"].as_str().unwrap()), None, None).await;
        assert_eq!(shown, &one, "a listed session equals its GET");
        assert!(shown.get("client_secret").is_none(), "no client_secret in a list");
    }

    // Filters, alone and combined (AND).
    let refs_a: Vec<String> = expected.iter().filter(|c| c.1 == "recon-a").map(|c| c.0.clone()).collect();
    assert_eq!(walk(&stack, "&reference=recon-a", 2).await, refs_a);
    assert_eq!(list(&stack, "?reference=recon").await.0, Vec::<String>::new(), "reference matches exactly");
    let (closed_list, _) = list(&stack, "?status=closed").await;
    let (closing_list, _) = list(&stack, "?status=closing").await;
    assert_eq!([closed_list.clone(), closing_list.clone()].concat(), vec![closed.clone()], "the one closed session");
    let (open_list, _) = list(&stack, "?status=open").await;
    assert_eq!(open_list.len(), 10);
    assert!(!open_list.contains(&closed));
    let ref_of_closed = created[4].1;
    let open_of_that_reference: Vec<String> =
        expected.iter().filter(|c| c.1 == ref_of_closed && c.0 != closed).map(|c| c.0.clone()).collect();
    assert_eq!(open_of_that_reference.len(), 7, "recon-a has eight sessions, one closed");
    let (both, _) = list(&stack, &format!("?reference={ref_of_closed}&status=open")).await;
    assert_eq!(both, open_of_that_reference, "reference AND status, oldest first");

    // The created-time range in Unix seconds: [gte, lt), the sessions shown in those seconds.
    let (t3, t8) = (expected[3].2, expected[8].2);
    assert!(expected[2].2 < t3 && t3 < t8 && expected[7].2 < t8, "the fourth and ninth start a second");
    let in_range: Vec<String> = expected.iter().filter(|c| c.2 >= t3 && c.2 < t8).map(|c| c.0.clone()).collect();
    assert_eq!(in_range, expected_ids[3..8]);
    assert_eq!(walk(&stack, &format!("&created_gte={t3}&created_lt={t8}"), 2).await, in_range);
    let after_all = expected.last().unwrap().2 + 1;
    assert!(list(&stack, &format!("?created_gte={after_all}")).await.0.is_empty());
    assert_eq!(list(&stack, &format!("?created_lt={after_all}&limit=100")).await.0, expected_ids);
    let b_in_range: Vec<String> =
        expected.iter().filter(|c| c.1 == "recon-b" && c.2 >= t3).map(|c| c.0.clone()).collect();
    assert_eq!(walk(&stack, &format!("&reference=recon-b&created_gte={t3}"), 1).await, b_in_range);

    // Bad parameters, each named.
    assert_eq!(field_of_error(&stack, "?status=done").await, "status");
    assert_eq!(field_of_error(&stack, "?created_gte=yesterday").await, "created_gte");
    assert_eq!(field_of_error(&stack, "?created_lt=1.5").await, "created_lt");
    assert_eq!(field_of_error(&stack, "?limit=0").await, "limit");
    assert_eq!(field_of_error(&stack, "?limit=101").await, "limit");
    assert_eq!(field_of_error(&stack, "?after=cs_nosuchsession").await, "after");
    assert_eq!(field_of_error(&stack, "?sort=desc").await, "sort");
    // A parameter given twice is refused by name rather than one of its values picked.
    assert_eq!(field_of_error(&stack, "?limit=5&limit=6").await, "limit");
    assert_eq!(field_of_error(&stack, "?status=open&reference=recon-a&status=paid").await, "status");
    // An empty or backwards time range names created_lt with the rule.
    let (status, err, text) =
        stack.merchant("GET", &format!("/v1/sessions?created_gte={t8}&created_lt={t3}"), None, None).await;
    assert_eq!((status, err["error"]["field"].as_str()), (400, Some("created_lt")), "{text}");
    assert!(text.contains("created_gte <= created_at < created_lt"), "{text}");
    assert_eq!(field_of_error(&stack, &format!("?created_gte={t3}&created_lt={t3}")).await, "created_lt");
    // A time in milliseconds is refused, not read as a time thousands of years away.
    let (_, err, _) = stack.merchant("GET", &format!("/v1/sessions?created_gte={}", t3 * 1000), None, None).await;
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("created_gte: must be Unix seconds") && message.contains("milliseconds"), "{err}");
    let (_, err, _) = stack.merchant("GET", "/v1/sessions?sort=desc", None, None).await;
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("reference, status, created_gte, created_lt, limit, after"), "{message}");
    let (status, _, _) = stack.merchant_with("not-the-key-at-all", "GET", "/v1/sessions").await;
    assert_eq!(status, 401, "the list needs the merchant key");

    let unique: BTreeSet<&String> = expected_ids.iter().collect();
    assert_eq!(unique.len(), 11);

    let to_close: Vec<String> = expected_ids.iter().filter(|i| **i != closed).skip(5).cloned().collect();
    the_feed_reads_its_newest_end(&stack, &to_close).await;
}

/// Sleeps until just past the start of the next second of the clock.
async fn next_second() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1050 - u64::from(now.subsec_millis()))).await;
}

async fn events(stack: &Stack, query: &str) -> (Vec<String>, bool) {
    let (status, page, text) = stack.merchant("GET", &format!("/v1/events{query}"), None, None).await;
    (ids(status, &page, &text), page["has_more"].as_bool().expect("has_more"))
}

async fn event_error(stack: &Stack, query: &str) -> (String, String) {
    let (status, err, text) = stack.merchant("GET", &format!("/v1/events{query}"), None, None).await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("invalid_field")), "{query}: {text}");
    (err["error"]["field"].as_str().expect("a field").to_owned(), err["error"]["message"].as_str().unwrap().to_owned())
}

/// `GET /v1/events?latest=true&limit=N`: the N newest events, oldest first, `has_more` when
/// older ones exist. Closing `to_close` adds one `checkout.session.closed` event each.
async fn the_feed_reads_its_newest_end(stack: &Stack, to_close: &[String]) {
    for id in to_close {
        let (status, _, text) = stack.merchant("POST", &format!("/v1/sessions/{id}/close"), None, None).await;
        assert!(status == 200 || status == 202, "{text}");
    }
    // The closed session from before and these: every close ends in an event once confirmed.
    let want = to_close.len() + 1;
    let mut all = Vec::new();
    for _ in 0..60 {
        all = events(stack, "?limit=100").await.0;
        if all.len() == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(all.len(), want, "each close made one event: {all:?}");
    let n = all.len();

    assert_eq!(events(stack, "?latest=true&limit=1").await, (vec![all[n - 1].clone()], true), "the newest alone");
    assert_eq!(events(stack, "?latest=true&limit=3").await, (all[n - 3..].to_vec(), true), "oldest first");
    assert_eq!(events(stack, &format!("?latest=true&limit={n}")).await, (all.clone(), false), "all of them");
    assert_eq!(events(stack, "?latest=true").await, (all.clone(), false), "the default page holds them all");
    assert_eq!(events(stack, "?latest=false&limit=2").await.0, all[..2].to_vec(), "latest=false is the start");
    // Reading on from the newest finds nothing new.
    assert_eq!(events(stack, &format!("?after={}", all[n - 1])).await, (Vec::new(), false));

    let (field, message) = event_error(stack, &format!("?after={}&latest=true", all[0])).await;
    assert_eq!(field, "latest", "{message}");
    assert!(message.contains("after"), "{message}");
    assert_eq!(event_error(stack, "?latest=yes").await.0, "latest");
    assert_eq!(event_error(stack, "?limit=1&limit=2").await.0, "limit", "a repeat is refused here too");
    assert_eq!(event_error(stack, "?latest=true&latest=true").await.0, "latest");
    let (field, message) = event_error(stack, "?newest=1").await;
    assert_eq!(field, "newest");
    assert!(message.contains("(after, latest, limit)"), "{message}");
}
